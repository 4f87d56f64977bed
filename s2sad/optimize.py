"""Optimisation passes on generated code, run to a fixpoint.

- constant folding (`2 - 1` -> `1`);
- algebraic identities (`x ** 2` -> `x * x`, `g * 1.0`, `0.0 + g`,
  `g * -1.0`, `g * (1.0 / y)`, `x ** 1`, `-(-g)`, `e + e` -> `2.0 * e`,
  `2 * g` -> `2.0 * g`, default arguments of runtime helpers dropped) only in
  derivative statements, so the primal's values are Python's to the last
  bit (`x ** 2` calls pow, which is not always correctly rounded); one that
  drops a float only from what is known to be a float (`float_valued`: an
  adjoint, not `b` of a bool `b * 1.0`, whose type it would change);
- copy and constant propagation for names assigned once;
- reuse of common subexpressions: a pure expression already held by a name
  (`y = np.exp(x)` in the forward sweep) is read from that name wherever it
  comes again with the same operands (`g * np.exp(x)` in the adjoint);
- merging an adjoint's first value into its next accumulation
  (`a_bar = g1; a_bar = a_bar + g2` -> `a_bar = g1 + g2`);
- dead-code elimination: assignments nobody reads, loops over ranges left
  empty, empty branches, and comments left with no code of their own under
  them;
- in a loop, accumulation into an adjoint array the code owns in place
  (`runtime.accumulated`), except in code specialised to Python floats;
- a gradient's output value, which only its seed reads, computed only where
  its dtype is not known to be float64 (`defer_value`).

`prune_residuals` then drops what a vjp's backward sweep never reads.

Passes never change results. Only calls of known pure functions are reused,
and never across a call that is not (it may change what an attribute, an
item or an array holds); expression statements are kept.
"""

import builtins
import collections
import functools
import inspect
import operator

import gast
import numpy as np

from s2sad import codegen, runtime, trees
from s2sad.rules import ieee, registry

_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub,
         gast.Mult: operator.mul, gast.Div: operator.truediv,
         gast.Pow: operator.pow, gast.FloorDiv: operator.floordiv,
         gast.Mod: operator.mod}


def optimize(tree, derivative_names=(), runtime_name="runtime",
             resolve=None, arrays=True, float_values=(), compiled=False):
    """Optimise a generated `gast.FunctionDef` in place and return it.

    Args:
        derivative_names: names the derivative code assigns; algebraic
            identities apply only to their statements.
        runtime_name: what the generated code calls s2sad's runtime.
        resolve: maps a free name of the generated code to its object (or
            None); calls of functions it resolves to NumPy, `math` or
            builtins functions with derivative rules count as pure, so
            repeated calls are computed once. Without it, only arithmetic
            and s2sad's runtime helpers are reused.
        arrays: whether adjoints may be arrays (False for code specialised
            to Python floats): loops then add into the arrays they own.
        float_values: the function's own names known to hold floats (or
            arrays of them), never an int or a bool (see `float_valued`).
        compiled: Numba compiles the code (it has no `del`, and computes
            an output's value at little cost).
    """
    passes = _Passes(set(derivative_names), runtime_name, resolve,
                     float_values)
    # a copy of a name assigned more than once is read from what it copies;
    # an adjoint's, only in code of floats (the passes for arrays below
    # find a loop's adjoints by the copies heading its body)
    passes.all_copies = not arrays
    passes.simplify(tree)  # simplifies bottom-up, to its own fixpoint
    # how many times each name is assigned, kept up to date by the passes
    # that remove assignments
    passes.stores = _stores(tree)
    # (no pass below makes or renames an update in place before `scatter`)
    passes.updated = passes.updated_in_place(tree)
    passes.propagate(tree)
    # (propagate last: it removes the copies reuse leaves in the same round)
    while passes.merge(tree) | passes.reuse(tree) | passes.propagate(tree):
        # new operands may simplify further (the statements the passes
        # left as they were are simplified already)
        passes.simplify(tree, passes.dirty)
        passes.dirty = {}
    passes.eliminate(tree)  # nothing above needs dead code gone first
    if arrays:
        passes.scatter(tree)
        passes.in_place(tree)
        passes.clear_in_place(tree)
        passes.chain_in_place(tree)
    if not arrays and not compiled:
        passes.drop_repeated_loops(tree)
    passes.absorb(tree)
    passes.nest(tree)
    if arrays:
        passes.replace_cleared(tree)
    if arrays and not compiled:  # (Numba's kernels copy their own)
        passes.own_chains(tree)
    if not compiled:  # (compiled, an output's value costs little)
        passes.defer_value(tree)
    # (what the passes above made the backward sweep stop reading)
    drop_dead_tape_items(tree.body, tape_lists(tree))
    tree.body = _clean(tree.body)
    if arrays and not compiled:  # (Numba frees a value after its last use)
        _free(tree, runtime_name)
    return tree


def prune_residuals(forward, backward):
    """Drop the residuals a backward sweep never reads: from its parameters
    (all but the last, the cotangent) and from the tuple its forward sweep
    returns last, `(value, (residuals...))`; then what only they read."""
    params = backward.args.args[:-1]
    live = _live_in(backward.body)
    keep = [i for i, param in enumerate(params) if param.id in live]
    if len(keep) == len(params):
        return
    backward.args.args = [params[i] for i in keep] + backward.args.args[-1:]
    residuals = forward.body[-1].value.elts[1]
    residuals.elts = [residuals.elts[i] for i in keep]
    _Passes(set(), None, None).eliminate(forward)
    forward.body = _clean(forward.body)


def _live_in(stmts):
    """The names `stmts` may read before assigning them."""
    live = set()

    def reads(node, assigned):
        live.update(n for n in _names(node, gast.Load) if n not in assigned)

    def visit(block, assigned):
        """Visit `block`; return what is assigned on every path through it."""
        assigned = set(assigned)
        for stmt in block:
            if isinstance(stmt, gast.If):
                reads(stmt.test, assigned)
                assigned = visit(stmt.body, assigned) & visit(stmt.orelse,
                                                              assigned)
            elif isinstance(stmt, (gast.For, gast.While)):
                if isinstance(stmt, gast.For):
                    reads(stmt.iter, assigned)
                    visit(stmt.body, assigned | set(_names(stmt.target,
                                                           gast.Store)))
                else:
                    reads(stmt.test, assigned)
                    visit(stmt.body, assigned)
                visit(stmt.orelse, assigned)  # the body may not have run
            else:
                reads(stmt, assigned)  # (of a nested def, all it reads)
                assigned |= set(_names(stmt, gast.Store))
        return assigned
    visit(stmts, set())
    return live


_names = trees.names
_CHILDREN = trees._CHILDREN


def _replace_in_fields(node, fields, replace):
    """`trees.replace_names` in these fields of `node` (a name held by one
    of them replaced too); whether it replaced any."""
    holder = gast.List([getattr(node, f, None) for f in fields], gast.Load())
    changed = trees.replace_names(holder, replace)
    for field, value in zip(fields, holder.elts):
        setattr(node, field, value)
    return changed


def _replaced(nodes, replace):
    """`nodes` (a list) with `trees.replace_names` applied in each."""
    holder = gast.List(list(nodes), gast.Load())
    trees.replace_names(holder, replace)
    return holder.elts


def _stores(tree):
    """How many times each name is assigned in the function `tree`, its
    parameters (assigned once already, by the call) included."""
    stores = collections.Counter(_names(tree, gast.Store))
    stores.update(_names(tree.args, gast.Param))
    stores.update(_names(tree.args, gast.Load))
    return stores


def _summary(node):
    """(names loaded, names stored, calls) in `node`, in one walk."""
    loads, stores, calls = set(), set(), []
    stack = [node]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is gast.Name:
            if type(node.ctx) is gast.Load:
                loads.add(node.id)
            elif type(node.ctx) is gast.Store:
                stores.add(node.id)
            continue
        if kind is gast.Call:
            calls.append(node)
        trees.push_children(stack, node)
    return loads, stores, calls


_LEAVES = (gast.Name, gast.Constant)


def _calls_nothing(node):
    """Does `node` call nothing (so its place in an order of evaluation
    cannot matter)?"""
    return not any(isinstance(n, gast.Call) for n in trees.walk(node))


# the runtime helpers that sum an adjoint over axes (or spread it), linear
# in it: a negation of their adjoint comes out of them (not out of
# unreduce's zeros where a mask is False: their sign would turn)
_SUMS = ("unbroadcast", "unbroadcast_to", "unreduce", "expand_reduced",
         "sum_to")


def _is_negation(node):
    return isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub)


def _negated_factor(node, alone=False):
    """`node` with the sign of one of its number factors turned (`2.0 * b`
    -> `-2.0 * b`), or None if it has none; `alone`: only a number itself
    (a divisor)."""
    if _is_number(node) and (type(node.value) is float or node.value):
        return gast.Constant(-node.value, None)  # (not an int 0: no -0)
    if alone or not (isinstance(node, gast.BinOp) and isinstance(
            node.op, (gast.Mult, gast.Div))):
        return None
    fields = ("left", "right") if isinstance(node.op, gast.Mult) else \
        ("left",)
    for field in fields:
        negated = _negated_factor(getattr(node, field))
        if negated is not None:
            new = gast.BinOp(node.left, node.op, node.right)
            setattr(new, field, negated)
            return new
    return None


def _sign_out(node):
    """`a * c` for `node` `-a * c`, `c * -a` or `-a / c`, else None."""
    if not (isinstance(node, gast.BinOp) and isinstance(
            node.op, (gast.Mult, gast.Div))):
        return None
    if _is_negation(node.left):
        return gast.BinOp(node.left.operand, node.op, node.right)
    if isinstance(node.op, gast.Mult) and _is_negation(node.right):
        return gast.BinOp(node.left, node.op, node.right.operand)
    return None


def _is_true(node):
    return isinstance(node, gast.Constant) and node.value is True


def _is_number(node, value=None):
    ok = (isinstance(node, gast.Constant) and type(node.value) in (int, float))
    return ok and (value is None or node.value == value)


def _blocks(stmts):
    """Every statement list in `stmts`, itself first."""
    yield stmts
    for stmt in stmts:
        if isinstance(stmt, gast.FunctionDef):
            continue  # a nested function of the user's, left as written
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                yield from _blocks(inner)


class _Passes:
    def __init__(self, derivative_names, runtime_name, resolve,
                 float_values=()):
        self.derivative_names = derivative_names
        self.float_values = set(float_values)
        self.runtime_name = runtime_name
        # the summaries merge made, for reuse right after it (nothing
        # changes the statements in between)
        self.summaries = {}
        self.dirty = {}  # id -> statement changed since `simplify` ran
        self.resolve = resolve or (lambda name: None)
        self.updated = set()  # see `updated_in_place`
        self.fresh_names = set()  # see `scatter`
        self.all_copies = False  # see `optimize`

    # -- expressions --

    def simplify(self, tree, only=None):
        """Fold constants and apply identities in assigned values; `only`:
        just in the statements it holds (by id)."""
        self.changed = False
        for block in _blocks(tree.body):
            for stmt in block:
                if isinstance(stmt, gast.Assign) and (
                        only is None or id(stmt) in only):
                    identities = _target(stmt) in self.derivative_names
                    stmt.value = self.expr(stmt.value, identities)
        return self.changed

    def expr(self, node, identities):
        if type(node) in _LEAVES:
            return node
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, gast.expr):
                setattr(node, field, self.expr(value, identities))
            elif isinstance(value, list):
                setattr(node, field, [self.expr(v, identities)
                                      if isinstance(v, gast.expr) else v
                                      for v in value])
        new = _fold(node)
        if new is None and identities and isinstance(node, gast.BinOp) and \
                isinstance(node.op, gast.Pow) and isinstance(
                node.left, gast.Name) and _is_number(node.right, 2):
            # x ** 2 -> x * x, without pow(); not in the primal, whose value
            # must be Python's: pow is not always correctly rounded
            new = gast.BinOp(node.left, gast.Mult(), trees.clone(node.left))
        if new is None and identities:
            new = self.identity(node)
        if new is None or new is node:
            return node
        self.changed = True
        return self.expr(new, identities)  # the result may simplify again

    def identity(self, node):
        if isinstance(node, gast.BinOp):
            if isinstance(node.op, (gast.Mult, gast.Add, gast.Sub, gast.Div)):
                # adjoints are floats: `2 * x` -> `2.0 * x` skips int coercion
                for field in ("left", "right"):
                    value = getattr(node, field)
                    if _is_number(value) and type(value.value) is int:
                        setattr(node, field, gast.Constant(float(value.value),
                                                           None))
                        self.changed = True
            left, right, op = node.left, node.right, node.op
            if isinstance(op, (gast.Mult, gast.Div)) and _is_negation(left):
                # -a * 4.0 -> a * -4.0: the sign taken into a number (IEEE
                # arithmetic is symmetric in sign: the same to the bit)
                negated = _negated_factor(right, isinstance(op, gast.Div))
                if negated is not None:
                    return gast.BinOp(left.operand, op, negated)
            if isinstance(op, gast.Mult) and _is_negation(right):
                negated = _negated_factor(left)
                if negated is not None:
                    return gast.BinOp(negated, op, right.operand)
            if isinstance(op, gast.Add) and _is_negation(left) and \
                    _calls_nothing(left) and not any(
                        self.writes_in_place(c) for c in trees.walk(right)
                        if isinstance(c, gast.Call)):
                # (-a + b -> b - a: b computed first now, which must not
                # write into what a reads)
                return gast.BinOp(right, gast.Sub(), left.operand)
            if isinstance(op, gast.Sub) and _is_negation(right):
                return gast.BinOp(left, gast.Add(), right.operand)
            if isinstance(op, (gast.Add, gast.Sub)):
                # b + -a * c -> b - a * c (the same to the bit)
                product = _sign_out(right)
                if product is not None:
                    return gast.BinOp(left, gast.Sub() if isinstance(
                        op, gast.Add) else gast.Add(), product)
            if isinstance(op, gast.Mult):
                for a, b in ((left, right), (right, left)):
                    if _is_number(b, 1) and self.float_valued(a):
                        return a
                    if _is_number(b, -1) and self.float_valued(a):
                        return gast.UnaryOp(gast.USub(), a)
                # g * (1 / y) -> g / y, in IEEE's forms too (rules/ieee.py)
                for a, b in ((left, right), (right, left)):
                    divided = ieee.over(a, b)
                    if divided is not None:
                        return divided
            if isinstance(op, gast.Add):
                if trees.same(left, right):  # d * d gives g * d twice
                    return gast.BinOp(gast.Constant(2.0, None), gast.Mult(), left)
                if isinstance(left, gast.BinOp) and isinstance(
                        left.op, gast.Add) and trees.same(left.right, right):
                    # ... in an accumulation: a_bar + g * d + g * d
                    return gast.BinOp(left.left, gast.Add(), gast.BinOp(
                        gast.Constant(2.0, None), gast.Mult(), right))
                if _is_number(left, 0) and self.float_valued(right):
                    return right
                if _is_number(right, 0) and self.float_valued(left):
                    return left
                if isinstance(right, gast.UnaryOp) and isinstance(
                        right.op, gast.USub):
                    return gast.BinOp(left, gast.Sub(), right.operand)
            if isinstance(op, gast.Sub) and _is_number(right, 0) and \
                    self.float_valued(left):
                return left
            if isinstance(op, (gast.Div, gast.Pow)) and _is_number(right, 1) \
                    and (self.float_valued(left) or isinstance(op, gast.Pow)
                         and type(right.value) is int):  # (x ** 1: x's type)
                return left
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) \
                and isinstance(node.operand, gast.UnaryOp) \
                and isinstance(node.operand.op, gast.USub):
            return node.operand.operand
        if self.is_runtime_call(node, "unbroadcast") and isinstance(
                node.args[0], gast.Constant) and type(node.args[0].value) is float:
            return node.args[0]  # a Python float needs no unbroadcasting
        if any(self.is_runtime_call(node, name) for name in _SUMS) and \
                node.args and _is_negation(node.args[0]) and \
                len(node.args) <= 4 and not node.keywords:  # (no mask)
            # unbroadcast(-g, x) -> -unbroadcast(g, x): the sign turned on
            # the sum, not on each of its terms (the same to the bit: IEEE
            # rounding is symmetric in sign), where the reader may take it
            call = gast.Call(node.func, [node.args[0].operand] + node.args[1:],
                             node.keywords)
            return gast.UnaryOp(gast.USub(), call)
        if self.is_runtime_call(node, ""):
            return _drop_default_arguments(node)
        return node

    def float_valued(self, node):
        """Is `node` known to be a float (or an array of floats), never an
        int or a bool, whose type an identity that drops a float (`a *
        1.0` -> `a`, `0.0 + a` -> `a`) would change? Adjoints and tangents
        are; the function's own values where `float_values` has them;
        arithmetic with one such operand; NumPy's and the runtime's
        results."""
        kind = type(node)
        if kind is gast.Name:
            return node.id in self.derivative_names or \
                node.id in self.float_values
        if kind is gast.Constant:
            return type(node.value) in (float, complex)
        if kind is gast.BinOp:
            return isinstance(node.op, gast.Div) or self.float_valued(
                node.left) or self.float_valued(node.right)
        if kind is gast.UnaryOp:
            return isinstance(node.op, (gast.USub, gast.UAdd)) and \
                self.float_valued(node.operand)
        return kind is gast.Call and isinstance(node.func, gast.Attribute)

    def is_runtime_call(self, node, helper):
        func = getattr(node, "func", None)
        return (isinstance(node, gast.Call) and isinstance(func, gast.Attribute)
                and func.attr == (helper or func.attr)
                and isinstance(func.value, gast.Name)
                and func.value.id == self.runtime_name)

    # -- statements --

    def propagate(self, tree):
        """Replace names assigned once to a name or a constant by that value."""
        stores = self.stores
        replace = {}
        for block in _blocks(tree.body):
            for stmt in block:
                target, value = _target(stmt), getattr(stmt, "value", None)
                if target is None:
                    continue
                if stores[target] != 1:
                    continue
                if replace:
                    # what is known so far, folded now: a chain of constants
                    # (`b = 1.0; c = unbroadcast(b * 1.0, y); ...`) resolves
                    # in this pass, not one link per round of `optimize`
                    if trees.replace_names(stmt, replace):
                        stmt.value = value = self.expr(
                            stmt.value, target in self.derivative_names)
                if isinstance(value, gast.Constant) or (
                        isinstance(value, gast.Name) and stores[value.id] <= 1):
                    replace[target] = value
        if not replace:
            return False

        for name, value in replace.items():
            while isinstance(value, gast.Name) and value.id in replace:
                value = replace[value.id]
            replace[name] = value
        self.replace_everywhere(tree, replace)
        for block in _blocks(tree.body):
            kept = []
            for stmt in block:
                if _target(stmt) in replace:
                    stores.subtract(_names(stmt, gast.Store))
                else:
                    kept.append(stmt)
            block[:] = kept
        return True

    def replace_everywhere(self, tree, replace):
        """`trees.replace_names(tree, replace)` statement by statement, the
        statements it changes noted in `self.dirty`."""
        _replace_in_fields(tree, ("args", "returns"), replace)
        tree.decorator_list = _replaced(tree.decorator_list, replace)
        for block in _blocks(tree.body):
            for stmt in block:
                kind = type(stmt)
                if kind is gast.If or kind is gast.While:
                    changed = _replace_in_fields(stmt, ("test",), replace)
                elif kind is gast.For:
                    changed = _replace_in_fields(stmt, ("target", "iter"),
                                                 replace)
                elif isinstance(getattr(stmt, "body", None), list):
                    # a def, a class, a `with`, a `try`: all of it (what
                    # is in it too, which is no change the second time)
                    changed = trees.replace_names(
                        gast.Module(body=[stmt], type_ignores=[]), replace)
                else:
                    changed = trees.replace_names(stmt, replace)
                if changed:
                    self.dirty[id(stmt)] = stmt

    def merge(self, tree):
        """`a = g1; ...; a = a + g2` -> `...; a = g1 + g2` for adjoints.

        One walk over each block: an assignment to a candidate waits, as
        `pending`, for the next statement that reads or assigns its name;
        if that is an accumulation of the name, the first value is folded
        into it. A statement that assigns a name a pending value reads,
        or changes an array in place, ends the wait.
        """
        changed = False
        self.summaries = {}  # id(statement) -> (it, `_summary` of it)
        for block in _blocks(tree.body):
            candidates = {_target(s) for s in block
                          if _accumulation(s)} & self.derivative_names
            if not candidates:
                continue
            kept = []
            pending = {}  # name -> [its statement's index in kept, name]
            readers = collections.defaultdict(list)  # name -> pending read it
            for stmt in block:
                loads, stores, calls = _summary(stmt)
                used = (loads | stores) & pending.keys()
                name = _target(stmt)
                for other in used:
                    index = pending.pop(other)[0]
                    if other == name and _accumulation(stmt):
                        first = kept[index]
                        stmt.value.left = first.value
                        kept[index] = None
                        for target in first.targets:
                            self.stores.subtract(_names(target, gast.Store))
                        # (what a later statement is checked against)
                        loads, stores, calls = _summary(stmt)
                        self.dirty[id(stmt)] = stmt
                        changed = True
                self.summaries[id(stmt)] = (stmt, (loads, stores, calls))
                if any(self.is_runtime_call(c, "restore") for c in calls):
                    pending.clear()
                    readers.clear()
                elif pending:
                    for stored in stores:
                        for record in readers.pop(stored, ()):
                            if pending.get(record[1]) is record:
                                del pending[record[1]]
                kept.append(stmt)
                if name in candidates and \
                        _sum_length(stmt.value) < _MAX_TERMS:
                    record = pending[name] = [len(kept) - 1, name]
                    for read in loads:
                        readers[read].append(record)
            block[:] = [s for s in kept if s is not None]
        return changed

    def reuse(self, tree):
        """Read a pure expression from the name that already holds it.

        A name holds the value of `name = expr` from that statement on, in
        the block and the blocks nested in it, until `name` or a name `expr`
        reads is assigned again; a loop body starts without what the loop
        assigns, which its previous iteration may have changed.
        """
        self.changed = False
        self.local = {name for name, count in self.stores.items() if count}
        self.pure_calls = {}  # (name, attributes) -> is it a pure function?
        _Held(self, self.stores).block(tree.body)
        self.summaries = {}  # (no longer those of the statements)
        return self.changed

    def updated_in_place(self, tree):
        """The names whose arrays the code changes in place (through the
        runtime helpers that write into their first argument), with every
        name that holds the same array (copies, and what those helpers
        return). Two equal expressions make two arrays when either is one
        of these: `a = np.zeros(3); b = np.zeros(3); a[0] = x` must not
        read `a` for `b`."""
        same = collections.defaultdict(set)  # name -> names of its array
        updated = set()
        for node in trees.walk(tree):
            value = getattr(node, "value", None)
            if not isinstance(node, (gast.Assign, gast.Expr)):
                continue
            target = _target(node) if isinstance(node, gast.Assign) else None
            if isinstance(value, gast.Name) and target is not None:
                same[target].add(value.id)
                same[value.id].add(target)
            elif self.updates_in_place(value) and isinstance(
                    value.args[0], gast.Name):
                updated.add(value.args[0].id)
                if target is not None:
                    updated.add(target)
                    same[target].add(value.args[0].id)
                    same[value.args[0].id].add(target)
        stack = list(updated)
        while stack:
            for other in same.pop(stack.pop(), ()):
                if other not in updated:
                    updated.add(other)
                    stack.append(other)
        return updated

    def updates_in_place(self, node):
        """Is `node` a call of a runtime helper that may write into its
        first argument?"""
        if any(self.is_runtime_call(node, helper) for helper in _IN_PLACE):
            return bool(node.args)
        return self.is_runtime_call(node, "getitem_adjoints") and any(
            k.arg == "owned" for k in node.keywords)

    def free_path(self, func):
        """(name, attributes) of `func`, a call's function, when it is a
        free name or an attribute of one (`np.linalg.norm`: ("np",
        ("linalg", "norm"))); else None."""
        path = []
        while isinstance(func, gast.Attribute):
            path.append(func.attr)
            func = func.value
        if not isinstance(func, gast.Name) or func.id in self.local:
            return None
        return func.id, tuple(reversed(path))

    def is_pure_call(self, func):
        """Does `func` (a call's function) name a side-effect-free function?"""
        key = self.free_path(func)
        if key is None:
            return False
        if key not in self.pure_calls:
            self.pure_calls[key] = self._names_pure_function(*key)
        return self.pure_calls[key]

    def is_reusable_call(self, func):
        """`is_pure_call`, but not `bool(x)`: a truth is read where and as
        often as the code says (a lazy array, as Dask's, computes there;
        see `Transform.read_test`), and an object's `__bool__` may answer
        differently each time."""
        return self.is_pure_call(func) and not (
            isinstance(func, gast.Name) and self.resolved(func) is bool)

    def resolved(self, func):
        """The object `func`, a call's function, names if it is a free name
        or an attribute of one; else None."""
        key = self.free_path(func)
        return None if key is None else self._object(*key)

    def _object(self, name, path):
        obj = self.resolve(name)
        if obj is None:
            obj = getattr(builtins, name, None)
        for attr in path:
            obj = getattr(obj, attr, None)
        return obj

    def _names_pure_function(self, name, path):
        """`is_pure_call` for `name.<path>`, a free name."""
        if name == self.runtime_name:
            # a zero adjoint is a new array that `in_place` may add into;
            # the others change or read an array updated in place
            return path not in (("zeros_like",), ("overwritten",),
                                ("setitem_in_place",), ("restore",))
        obj = self._object(name, path)
        rule = registry.lookup(obj)
        module = getattr(obj, "__module__", None) or ""
        return rule is not None and (
            module.split(".")[0] in ("numpy", "math", "cmath", "builtins")
            or module.startswith("s2sad.") or isinstance(obj, np.ufunc))

    def scatter(self, tree):
        """`t + getitem_adjoint(g1, x, i1) + getitem_adjoint(g2, x, i2)` ->
        `runtime.getitem_adjoints(t, x, g1, i1, g2, i2)` in adjoints: the
        adjoints of indexing the same x added into one array, each into
        its slice, and the other terms first (into the array the sum makes
        anyway), rather than each spread over all of x and then added."""
        reads = collections.Counter(_names(tree, gast.Load))
        # adjoints assigned a new array once and read once: by the sum
        # that takes them as its total, which may then add into them
        self.fresh_names = {
            _target(s) for block in _blocks(tree.body) for s in block
            if _target(s) in self.derivative_names and self.stores[
                _target(s)] == 1 and reads[_target(s)] == 1 and
            self.is_fresh(s.value)}
        for block in _blocks(tree.body):
            for stmt in block:
                if _target(stmt) in self.derivative_names:
                    stmt.value = self.scattered(stmt.value)

    def scattered(self, expr):
        terms = []
        while isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Add):
            terms.append(expr.right)
            expr = expr.left
        terms.append(expr)
        terms.reverse()
        scattering = [t for t in terms if self.scatters(t)]
        if not scattering or len(scattering) == len(terms) == 1:
            return _sum(terms)
        others = [t for t in terms if not self.scatters(t)]
        total = _sum(others) if others else None
        groups = {}  # the name indexed -> its adjoints' (g, index) pairs
        for term in scattering:
            pairs = groups.setdefault(term.args[1].id, (term.args[1], []))[1]
            g, index = term.args[0], term.args[2]
            same = next((i for i in range(1, len(pairs), 2)
                         if trees.same(pairs[i], index)), None)
            if same is None:
                pairs += [g, index]
            else:  # one slice, once: the adjoint of x[i] is linear in g
                pairs[same - 1] = gast.BinOp(pairs[same - 1], gast.Add(), g)
        for x, pairs in groups.values():
            if total is None and len(pairs) == 2:  # one: as it was
                total = _runtime_call(self.runtime_name, "getitem_adjoint",
                                      [pairs[0], x, pairs[1]])
                continue
            if total is not None and self.is_numpy_copy(total):
                total = total.args[0]  # (getitem_adjoints copies it)
            fresh = total is not None and self.is_fresh(total)
            total = _runtime_call(self.runtime_name, "getitem_adjoints", [
                total if total is not None else gast.Constant(None, None),
                x] + pairs)
            if fresh:  # nothing else holds it: add into it
                _mark_owned(total)
        return total

    def is_fresh(self, expr):
        """Is `expr` an array nothing else holds: an operator's result, a
        setitem's copy, a slice adjoint, or a name holding one that nothing
        else reads (`fresh_names`)?"""
        if isinstance(expr, (gast.BinOp, gast.UnaryOp)):
            return True
        if isinstance(expr, gast.Name):
            return expr.id in self.fresh_names
        return any(self.is_runtime_call(expr, helper) for helper in (
            "setitem", "getitem_adjoint", "getitem_adjoints"))

    def is_numpy_copy(self, expr):
        """Is `expr` `np.copy(a, ...)` (a copy the sum makes anyway)?"""
        func = getattr(expr, "func", None)
        return isinstance(expr, gast.Call) and isinstance(
            func, gast.Attribute) and func.attr == "copy" and isinstance(
                func.value, gast.Name) and not self.stores.get(func.value.id) \
            and self.resolve(func.value.id) is np and len(expr.args) >= 1 \
            and not expr.keywords

    def scatters(self, term):
        """Is `term` `runtime.getitem_adjoint(g, x, index)`, x a name?"""
        return self.is_runtime_call(term, "getitem_adjoint") and len(
            term.args) == 3 and not term.keywords and isinstance(
                term.args[1], gast.Name)

    def in_place(self, tree):
        """`a_bar = a_bar + g` -> `a_bar = runtime.accumulated(a_bar, g)` in
        a loop, where a_bar starts as a new array (`runtime.zeros_like(a)`)
        before the loop, nothing else in the loop assigns it and nothing in
        it reads it otherwise: the array is the generated code's own, so g
        is added into it (when the sum has its shape and dtype) rather than
        copied at each iteration. (What the name holds after the loop, the
        adjoint of a list's earlier version, say, is another matter.)"""
        for block in list(_blocks(tree.body)):
            copies = []  # (the loop, the name it is to own a copy of)
            for i, stmt in enumerate(block):
                name = _target(stmt)
                if name not in self.derivative_names:
                    continue
                fresh = self.is_runtime_call(stmt.value, "zeros_like")
                loop = next((s for s in block[i + 1:] if name in _names(
                    s, gast.Load) or name in _names(s, gast.Store)), None)
                if isinstance(loop, (gast.For, gast.While)) and _add_in_place(
                        name, loop, _names(loop, gast.Store).count(name),
                        self.runtime_name, scatters_only=not fresh) and \
                        not fresh:
                    copies.append((loop, name))
            for loop, name in copies:
                # (an adjoint made otherwise, `runtime.unreduce(g, x)`, may
                # be another's: the loop adds the items' adjoints into a
                # copy it owns, made once)
                block.insert(block.index(loop), _owned_copy(
                    name, self.runtime_name))

    def chain_in_place(self, tree):
        """A list's adjoint a loop carries through the adjoints of its items
        read at indices, `c = b; ... b = runtime.getitem_adjoints(c[:-1],
        x, g, i, ...)` (an item appended, then items read before it, going
        back), c read otherwise only at constant indices (`c[-1]`): the
        loop owns b (copied once before it, `runtime.owned_adjoint`), and
        each iteration adds g into its items in place (`owned=True`)
        rather than making the list's adjoint anew, O(its length) a step."""
        self.own_before_loops(tree, self.chained_in)

    def own_before_loops(self, tree, owned_in):
        """Before each loop, `b = runtime.owned_adjoint(b)` for each name
        `owned_in(loop)` gives (having rewritten the loop to change b's
        array in place): a copy the loop owns, made once."""
        for block in list(_blocks(tree.body)):
            for loop in [s for s in block if isinstance(s, (gast.For,
                                                            gast.While))]:
                for name in owned_in(loop):
                    block.insert(block.index(loop), _owned_copy(
                        name, self.runtime_name))

    def chained_in(self, loop):
        """The names `chain_in_place` makes the loop own (its eligible
        `getitem_adjoints` marked `owned=True`)."""
        stores = collections.Counter(_names(loop, gast.Store))
        loads = collections.Counter(_names(loop, gast.Load))
        header = _header(loop)
        body, owned = loop.body, []
        for at, stmt in enumerate(body):
            carried, call = _target(stmt), getattr(stmt, "value", None)
            if carried not in self.derivative_names or not \
                    self.is_runtime_call(call, "getitem_adjoints") or \
                    call.keywords or not call.args:
                continue
            first = call.args[0]
            if isinstance(first, gast.Subscript) and isinstance(
                    first.slice, gast.Slice):
                first = first.value  # (a view of it)
            if not isinstance(first, gast.Name):
                continue
            later = self.carried_after(body, at, carried, first.id, stores,
                                       loads, header, call)
            if later is not None:  # (`x = getitem_adjoints(b, ...); b =
                # x[:-1]`: the adjoint read after an append of the step)
                _mark_owned(call)
                owned.append(later)
                continue
            copy = first.id
            start = next((k for k, s in enumerate(body[:at]) if _target(
                s) == copy and isinstance(s.value, gast.Name) and
                s.value.id == carried), None)
            if start is None or stores[carried] != 1 or stores[copy] != 1 \
                    or loads[carried] != 1 or any(
                        carried in _names(n, gast.Load) or copy in _names(
                            n, gast.Load) for n in header + call.args[1:]):
                continue
            if loads[copy] != _items_read(body[start + 1:at], copy) + 1 or \
                    any(copy in _names(s, gast.Load) for s in body[at + 1:]):
                continue  # (read otherwise, or after)
            _mark_owned(call)
            owned.append(carried)
        return owned

    def carried_after(self, body, at, made, total, stores, loads, header,
                      call):
        """The name the loop carries whose array `made = getitem_adjoints(
        total, ...)` (at `at` in `body`) adds into and the loop hands on
        by a later `total = made[:-1]` (or `= made`), `total` read only
        there and `made` otherwise only at constant indices; or None."""
        link = next((k for k, s in enumerate(body[at + 1:], at + 1)
                     if _target(s) == total), None)
        if link is None:
            return None
        value = body[link].value
        if isinstance(value, gast.Subscript) and isinstance(
                value.slice, gast.Slice):
            value = value.value
        if not (isinstance(value, gast.Name) and value.id == made) or \
                stores[total] != 1 or stores[made] != 1 or \
                loads[total] != 1 or any(
                    total in _names(n, gast.Load) or made in _names(
                        n, gast.Load) for n in header + call.args[1:]):
            return None
        if loads[made] != _items_read(body[at + 1:], made) + 1 or any(
                made in _names(s, gast.Load) for s in body[:at]):
            return None  # (read otherwise, or before)
        return total

    def clear_in_place(self, tree):
        """`p = runtime.setitem(b, index, 0.0)` -> `p = runtime.cleared(b,
        index)` in a loop whose iterations carry p (`b = p` first, p and b
        assigned nowhere else in it) and read b nowhere else but as its item
        at the same index (`runtime.item_adjoint`), which is read first:
        the adjoint of an element assignment `K[i, j] = v` then zeroes that
        element of an array the loop owns (copied once before the loop,
        `runtime.owned_adjoint`), rather than copying K at each iteration."""
        self.names_used = set(_names(tree, gast.Load)) | set(
            _names(tree, gast.Store))
        self.own_before_loops(tree, self.cleared_in)

    def cleared_in(self, loop):
        """Rewrite `loop`'s eligible setitems (see `clear_in_place`), each
        moved after the statements that read its items; returns the names
        the loop carries whose arrays it must own."""
        stores = collections.Counter(_names(loop, gast.Store))
        loads = collections.Counter(_names(loop, gast.Load))
        owned = self.chains_cleared(loop, stores, loads)
        body = loop.body
        for stmt in list(body):
            carried, call = _target(stmt), getattr(stmt, "value", None)
            outer = None
            if self.is_runtime_call(call, "getitem_adjoints") and \
                    call.args and self.is_runtime_call(
                        call.args[0], "setitem") and any(
                    k.arg == "owned" and _is_true(k.value)
                    for k in call.keywords):
                # `p = getitem_adjoints(setitem(b, index, 0.0), x, h, at,
                # owned=True)`: the clear, then h added into what it gives
                outer, call = call, call.args[0]
            if carried not in self.derivative_names or not \
                    self.is_runtime_call(call, "setitem") or \
                    len(call.args) != 3 or call.keywords or not isinstance(
                        call.args[0], gast.Name) or not _is_zero(call.args[2]):
                continue
            b, index = call.args[0].id, call.args[1]
            at = body.index(stmt)
            start = next((k for k, s in enumerate(body[:at]) if _target(
                s) == b and isinstance(s.value, gast.Name) and
                s.value.id == carried), None)
            if start is None or stores[carried] != 1 or stores[b] != 1 or \
                    loads[carried] != 1:
                continue
            reads, last = 1, at  # (the setitem's own)
            for k, other in enumerate(body[start + 1:], start + 1):
                if k == at or b not in _names(other, gast.Load):
                    continue
                items = sum(self.reads_item(n, b, index)
                            for n in trees.walk(other))
                if items != _names(other, gast.Load).count(b):
                    break  # a read of b that is not an item
                reads += items
                last = max(last, k)
            moved = body[at + 1:last + 1]
            read = set(_names(outer if outer is not None else index,
                              gast.Load)) - {b}
            if reads != loads[b] or any(set(_names(
                    other, gast.Store)) & read for other in moved):
                continue
            body.remove(stmt)  # after the items it reads
            body.insert(last, stmt)
            call.func.attr = "cleared"
            call.args = call.args[:2]
            owned.append(carried)
        return owned

    def chains_cleared(self, loop, stores, loads):
        """`clear_in_place` of a chain of element clears in one iteration,
        the adjoint of two writes or more (`K[i, j] = v; K[j, i] = v`):
        `b0 = p; b1 = runtime.setitem(b0, i1, 0.0); ...; p =
        runtime.setitem(bk, ik, 0.0)`, each b read otherwise only as its
        item at the index the next clear zeroes. Each such read is taken
        into a name just before that clear (what it reads is defined by
        then, and not assigned again in the loop), and the clears zero
        elements of the one array the loop owns; returns the names it
        carries so."""
        body, owned = loop.body, []
        setitems = {}  # name -> (position, b, index) of `name = setitem(...)`
        for k, stmt in enumerate(body):
            name, call = _target(stmt), getattr(stmt, "value", None)
            if name in self.derivative_names and self.is_runtime_call(
                    call, "setitem") and len(call.args) == 3 and not \
                    call.keywords and isinstance(call.args[0], gast.Name) \
                    and _is_zero(call.args[2]) and stores[name] == 1:
                setitems[name] = (k, call.args[0].id, call.args[1])
        for carried in list(setitems):
            chain, b = [], carried
            while b in setitems and len(chain) <= len(setitems):
                chain.append(b)
                b = setitems[b][1]
            start = next((k for k, s in enumerate(body) if _target(s) == b
                          and isinstance(s.value, gast.Name) and
                          s.value.id == carried), None)
            if len(chain) < 2 or start is None or loads[carried] != 1 or \
                    stores[b] != 1 or start > setitems[chain[-1]][0]:
                continue
            chain.reverse()  # (in the order the clears run)
            reads = self.chain_reads(body, chain, setitems, stores, loads)
            if reads is None:
                continue
            for name, nodes in reads:
                at, source, index = setitems[name]
                temp, count = f"{source}_item", 1
                while temp in self.names_used:
                    count += 1
                    temp = f"{source}_item{count}"
                self.names_used.add(temp)
                for node, parent, field, i in nodes:
                    value = gast.Name(temp, gast.Load(), None, None)
                    if i is None:
                        setattr(parent, field, value)
                    else:
                        getattr(parent, field)[i] = value
                taken = gast.Assign([gast.Name(temp, gast.Store(), None,
                                               None)], nodes[0][0], None)
                body.insert(at, taken)
                setitems = {n: (k + (k >= at), s, x) for n, (k, s, x) in
                            setitems.items()}
            for name in chain:
                call = body[setitems[name][0]].value
                call.func.attr = "cleared"
                call.args = call.args[:2]
            owned.append(carried)
        return owned

    def chain_reads(self, body, chain, setitems, stores, loads):
        """For each link `name = setitem(b, index, 0.0)` of `chain`, the
        reads of b's item at index after it (node, parent, field, position
        in the field's list), or None where b is read otherwise, or what
        such a read reads is assigned after the clear or more than once in
        the loop."""
        out = []
        for name in chain:
            at, b, index = setitems[name]
            found, items = [], 0
            for k, other in enumerate(body):
                if k == at:
                    continue
                for parent in trees.walk(other):
                    for field, value in gast.iter_fields(parent):
                        children = value if isinstance(value, list) else [
                            value]
                        for i, child in enumerate(children):
                            if isinstance(child, gast.AST) and \
                                    self.reads_item(child, b, index):
                                items += 1
                                if k < at:
                                    continue  # (read before the clear)
                                found.append((child, parent, field, i if
                                              isinstance(value, list)
                                              else None))
            if loads[b] != 1 + items:
                return None  # (b read otherwise)
            for child, _, _, _ in found:
                for read in set(_names(child, gast.Load)) - {b}:
                    where = [k for k, s in enumerate(body)
                             if read in _names(s, gast.Store)]
                    if stores[read] > 1 or where and where[0] >= at:
                        return None
            if found:
                out.append((name, found))
        return out

    def own_chains(self, tree):
        """A list's or array's adjoint a loop carries through a chain of
        its items' adjoints (the adjoint of `x[i] += v`, `f[i] -= s` in a
        loop): `c = runtime.getitem_adjoints(b, x, g, i)`, `c[i]` read,
        `b = runtime.getitem_adjoints(c, x, h, i, replaced=True)` (or
        through copies `c = b`), each link of it read otherwise only as
        items (`runtime.item_adjoint`) before the next. The loop owns b
        (copied once before it, `runtime.owned_adjoint`), and each link
        adds into it in place (`owned=True`) rather than copying it, O(its
        length) a step. An item read then is a copy where it would be a
        view of the array (`runtime.item_adjoint_copy`: a slice of it),
        so that no later link changes it."""
        self.own_before_loops(tree, self.owned_chain_in)

    def owned_chain_in(self, loop):
        """The names `own_chains` makes the loop own (rewriting it)."""
        stores = collections.Counter(_names(loop, gast.Store))
        loads = collections.Counter(_names(loop, gast.Load))
        header = {n.id for n in trees.walk(gast.Tuple(_header(loop),
                                                      gast.Load()))
                  if isinstance(n, gast.Name)}
        body, owned = loop.body, []
        made = {_target(s): k for k, s in enumerate(body) if _target(s)}
        for end, stmt in enumerate(body):
            carried = _target(stmt)
            if carried not in self.derivative_names or stores[carried] != 1 \
                    or loads[carried] != 1 or carried in header:
                continue
            links, at, chain = [], end, set()  # (back from the last link)
            while True:
                value = body[at].value
                if self.is_runtime_call(value, "getitem_adjoints") and \
                        value.args and all(k.arg == "replaced"
                                           for k in value.keywords):
                    links.append(value)
                    value = value.args[0]
                name, reader = getattr(value, "id", None), at
                if not isinstance(value, gast.Name) or name == carried:
                    break
                at = made.get(name, len(body))
                if at >= reader or stores[name] != 1 or name in header or \
                        not self.only_items_read(body, name, at, reader,
                                                 loads[name]):
                    break
                chain.add(name)
            if name != carried or not links:
                continue
            for link in links:
                _mark_owned(link)
            for node in trees.walk(gast.Tuple(body[at:end], gast.Load())):
                if any(self.reads_item(node, c) for c in chain):
                    node.func.attr = "item_adjoint_copy"
            owned.append(carried)
        return owned

    def only_items_read(self, body, name, made, reader, loads):
        """Does the loop body read `name`, made at `made`, only at `reader`
        (once) and as items (`runtime.item_adjoint`) in between?"""
        items = 0
        for k, stmt in enumerate(body):
            reads = _names(stmt, gast.Load).count(name)
            if not reads:
                continue
            found = sum(self.reads_item(n, name) for n in trees.walk(stmt))
            if not made < k <= reader or found != reads - (k == reader):
                return False
            items += found
        return items + 1 == loads

    def reads_item(self, node, name, index=None):
        """Is `node` `runtime.item_adjoint(x, index)` with x `name` or
        `runtime.through_cast(name, y)`, the same `index` (any, if None)?"""
        if not self.is_runtime_call(node, "item_adjoint") or len(
                node.args) != 2 or index is not None and gast.dump(
                    node.args[1]) != gast.dump(index):
            return False
        x = node.args[0]
        if self.is_runtime_call(x, "through_cast") and len(x.args) == 2:
            x = x.args[0]
        return isinstance(x, gast.Name) and x.id == name

    def nest(self, tree):
        """`t = E; ...; u = f(t)` -> `...; u = f(E)` in the function's own
        values (not adjoints), where nothing else reads t: the user's
        expression as written, whose intermediate arrays are freed as soon
        as it has used them rather than held by names to the end of the
        function (or of the loop's iteration). Adjoints keep their names,
        one per value of the function: the chain rule shown step by step.

        Only pure E, and only past statements that assign pure values to
        names E does not read (nothing in between changes what E reads or
        has effects to order against), into a pure expression (or the
        arguments of a helper that writes into an array: they are computed
        before it writes), on the same line of the user's code, where E is
        computed whatever happens (not in a branch of `a if c else b`, `and`
        or `or`).
        """
        loads = collections.Counter(_names(tree, gast.Load))
        stores = collections.Counter(_names(tree, gast.Store))
        self.local = {name for name, count in stores.items() if count}
        self.pure_calls = {}
        for block in _blocks(tree.body):
            lines, line = [], None
            for stmt in block:
                line = getattr(stmt, "s2sad_line", line)
                lines.append(line)
            removed = set()
            for i, stmt in enumerate(block):
                name = _target(stmt)
                if name is None or name in self.derivative_names or \
                        loads[name] != 1 or stores[name] != 1 or len(
                            stmt.targets) != 1 or not self.is_pure(stmt.value):
                    continue  # (an adjoint keeps its name: see above)
                j = self.reader(block, i, removed, lambda j, later: lines[
                    j] == lines[i] and _target(later) not in
                    self.derivative_names)  # (computed where it is shown)
                if j is not None and self.substitute(block[j].value, name,
                                                     stmt.value):
                    removed.add(i)
            for i in removed:
                # the user's line the statement after it was printed as
                # coming from (see codegen.located), kept
                after = block[i + 1]
                if not hasattr(after, "s2sad_line") and lines[i + 1]:
                    after.s2sad_line = lines[i + 1]
            block[:] = [s for i, s in enumerate(block) if i not in removed]

    def replace_cleared(self, tree):
        """`p = runtime.setitem(g, index, 0.0); ...; t =
        runtime.getitem_adjoints(p, x, h, index, ...)` -> `t =
        runtime.getitem_adjoints(g, x, h, index, ..., replaced=True)`: the
        adjoint of a slice assignment `x[index] = ...` (zeros where it
        overwrote) and the adjoint of reading that slice of x, which
        replaces those zeros rather than being added to them (no pass that
        writes zeros, and one that writes h rather than adds it). Where p
        is read only there (or is that call's argument itself), and
        nothing in between changes g.

        The sum is the same to the value: 0.0 + h is h, but for h = -0.0,
        which the zeros made +0.0.
        """
        loads = collections.Counter(_names(tree, gast.Load))
        written = []  # (`written_in_place`, found when first needed)

        def pass_through(block, j):
            if not written:
                written.append(self.written_in_place(tree))
            self.pass_through(block, j, written[0])
        for block in _blocks(tree.body):
            removed = set()
            for i, stmt in enumerate(block):
                value, name = getattr(stmt, "value", None), _target(stmt)
                if self.replaces_cleared(value, value.args[0] if isinstance(
                        value, gast.Call) and value.args else None):
                    pass_through(block, i)  # (the setitem written in the call)
                    continue
                if name is None or loads[name] != 1 or \
                        self.stores.get(name) != 1 or \
                        not self.clears(value):
                    continue
                j = self.reader(block, i, removed)
                if j is not None and self.replaces_cleared(
                        block[j].value, value, name):
                    removed.add(i)
                    pass_through(block, j)
            block[:] = [s for i, s in enumerate(block) if i not in removed]

    def pass_through(self, block, j, written):
        """`t = runtime.getitem_adjoints(g, x, h, index, replaced=True)` ->
        `t = g` where h is `runtime.item_adjoint(g, index)`, assigned
        earlier in `block`: the slice written back is the one read, so the
        adjoint passes through unchanged (that of `x[index] += v`, whose
        read of x[index] goes into the write with derivative 1). Only
        where neither g nor t is `written` (see `written_in_place`): t is
        then the array g, and h a view of it, which nothing writes into."""
        stmt = block[j]
        call, name = stmt.value, _target(stmt)
        if len(call.args) != 4 or not isinstance(call.args[0], gast.Name) \
                or not isinstance(call.args[2], gast.Name) or \
                call.args[0].id in written or name in written:
            return
        total, item = call.args[0].id, call.args[2].id
        if self.stores.get(total) != 1 or self.stores.get(item) != 1:
            return
        made = next((s.value for s in block[:j] if _target(s) == item), None)
        if self.is_runtime_call(made, "item_adjoint") and len(
                made.args) == 2 and isinstance(made.args[0], gast.Name) and \
                made.args[0].id == total and trees.same(made.args[1],
                                                        call.args[3]):
            stmt.value = gast.Name(total, gast.Load(), None, None)

    def written_in_place(self, tree):
        """The names of `tree` that a call writes into, directly or through
        a name that is a copy of them or they of it (`a = b`)."""
        links = collections.defaultdict(set)
        written = set()
        for node in trees.walk(tree):
            if isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], gast.Name) and \
                    isinstance(node.value, gast.Name):
                links[node.targets[0].id].add(node.value.id)
                links[node.value.id].add(node.targets[0].id)
            elif isinstance(node, gast.Call) and node.args and isinstance(
                    node.args[0], gast.Name) and self.writes_in_place(node):
                written.add(node.args[0].id)
        todo = list(written)
        while todo:  # (what a written name is linked to is written too)
            for other in links[todo.pop()] - written:
                written.add(other)
                todo.append(other)
        return written

    def replaces_cleared(self, total, cleared, name=None):
        """Make `total`, if it is `runtime.getitem_adjoints(p, x, h, index,
        ...)` with p `cleared` (or the name of it), `runtime.setitem(g,
        index, 0.0)`, `getitem_adjoints(g, ..., replaced=True)`; returns
        whether it did."""
        if not (self.is_runtime_call(total, "getitem_adjoints") and len(
                total.args) >= 4 and self.clears(cleared) and trees.same(
                    total.args[3], cleared.args[1])):
            return False
        p = total.args[0]
        if not (p is cleared or name is not None and isinstance(
                p, gast.Name) and p.id == name):
            return False
        total.args[0] = cleared.args[0]
        total.keywords = [k for k in total.keywords
                          if k.arg != "owned"]  # (g is not its own)
        total.keywords.append(gast.keyword(
            "replaced", gast.Constant(True, None)))
        return True

    def clears(self, node):
        """Is `node` `runtime.setitem(g, index, 0.0)`?"""
        return self.is_runtime_call(node, "setitem") and len(
            node.args) == 3 and not node.keywords and _is_zero(node.args[2])

    def defer_value(self, tree):
        """`out = 0.5 * np.sum(r ** 2); out_bar = runtime.seed(out, where)`
        -> `out_bar = runtime.float64_seed((r,))`, then the old
        statements in `if out_bar is None:`: a gradient does not return its
        function's value, and its seed (1 in the output's dtype) is known
        without it when the value is a NumPy float64, which the kinds of the
        values it is computed from decide (see `_value_kind`). The reductions
        that end a loss (`np.sum`, `np.mean`), with their Python-level cost,
        then run only for other dtypes.

        The statements moved are those that only the seed reads (directly or
        through one another), at the function's top level, and only when
        each is an operation that cannot raise for float64 values and
        Python numbers (a user's statement is otherwise kept for its error,
        see `eliminate`), and every statement they are moved past is pure
        (so what they read has not changed when they run).
        """
        body = tree.body
        at = next((i for i, s in enumerate(body) if isinstance(
            s, gast.Assign) and _target(s) and self.is_runtime_call(
                s.value, "seed")), None)
        if at is None or not isinstance(body[at].value.args[0], gast.Name):
            return
        loads = collections.Counter(_names(tree, gast.Load))
        made = {}  # name -> the statement that makes it, for those moved
        needed = collections.Counter(_names(body[at].value, gast.Load))
        first = at
        for i in range(at - 1, -1, -1):
            stmt = body[i]
            name = _target(stmt)
            if name is not None and loads[name] and needed[name] == loads[
                    name] and len(stmt.targets) == 1:
                made[name] = stmt
                needed.update(_names(stmt.value, gast.Load))
                first = i
            elif not (name is not None and self.is_pure(stmt.value)):
                break  # (the value's statements end the function's code)
        if not made:
            return
        # (groups of reduced arrays, numbers, NumPy float64s), in order
        leaves = ([], [], [])
        self.top_level = {_target(s): s.value for s in body
                          if isinstance(s, gast.Assign) and _target(s)}
        output = body[at].value.args[0].id
        if output not in made or self._value_kind(
                made[output].value, made, leaves) != "F":
            return
        moved = [s for s in body[first:at] if _target(s) in made]
        if any(not self.is_pure(s.value) for s in body[first:at]) or len(
                moved) != len(made):
            return
        seed = body[at]
        name = seed.targets[0].id
        def names(group):
            return gast.Tuple([gast.Name(n, gast.Load(), None, None)
                               for n in group], gast.Load())
        groups, vectors = [], []
        for group in leaves[0]:
            kind = vectors if isinstance(group, _Vectors) else groups
            if group and list(group) not in kind:
                kind.append(list(group))
        call = _runtime_call(self.runtime_name, "float64_seed",
                             [names(group) for group in groups])
        keywords = (("numbers", names(leaves[1])),
                    ("float64s", names(leaves[2])),
                    ("vectors", gast.Tuple([names(group) for group in vectors],
                                           gast.Load())))
        call.keywords = [gast.keyword(keyword, value)
                         for keyword, value in keywords if value.elts]
        check = gast.Assign([gast.Name(name, gast.Store(), None, None)], call)
        test = gast.Compare(gast.Name(name, gast.Load(), None, None),
                            [gast.Is()], [gast.Constant(None, None)])
        branch = gast.If(test, moved + [seed], [])
        for stmt in (check, branch):
            if hasattr(seed, "s2sad_line"):
                stmt.s2sad_line = seed.s2sad_line
        kept, line = [], None
        for stmt in body[first:at]:
            if _target(stmt) in made:
                line = getattr(stmt, "s2sad_line", line)
                continue
            if line is not None and not hasattr(stmt, "s2sad_line"):
                stmt.s2sad_line = line  # (the line it was printed under)
            line = None
            kept.append(stmt)
        body[first:at + 1] = kept + [check, branch]

    def _value_kind(self, node, made, leaves, group=None):
        """What `node`, part of a value `defer_value` moves, is, given what
        `runtime.float64_seed` checks of the values it reads from outside
        it (`leaves`: the groups of arrays each total reduction reads, and
        the numbers): "F", certainly a NumPy float64; "P", a Python float
        or a NumPy float64; "A", a float64 array or NumPy float64, of the
        shape of the others of its `group` (under a total reduction); None,
        anything else (not moved). Arithmetic of two Python numbers may
        raise (1.0 / 0.0), so one side must be a NumPy value.
        """
        if isinstance(node, gast.Constant):
            return "P" if type(node.value) in (int, float) else None
        if isinstance(node, gast.Name):
            if node.id in made:
                return self._value_kind(made[node.id].value, made, leaves,
                                        group)
            leaf = leaves[1] if group is None else group
            if node.id not in leaf:
                leaf.append(node.id)
            return "P" if group is None else "A"
        if isinstance(node, gast.UnaryOp) and isinstance(
                node.op, (gast.USub, gast.UAdd)):
            return self._value_kind(node.operand, made, leaves, group)
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.MatMult):
            if group is not None:
                return None  # (a product under a reduction: its own shape)
            leaves[0].append(_Vectors())  # (a @ b of 1-D arrays: a number)
            kinds = {self._value_kind(side, made, leaves, leaves[0][-1])
                     for side in (node.left, node.right)}
            return "F" if kinds == {"A"} else None
        if isinstance(node, gast.BinOp) and isinstance(node.op, (
                gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)):
            kinds = {self._value_kind(node.left, made, leaves, group),
                     self._value_kind(node.right, made, leaves, group)}
            if kinds == {"P"}:  # (Python numbers may raise: 1.0 / 0.0)
                return "F" if group is None and made is not _TRIAL and any(
                    self.checked_as_float64(side, made, leaves)
                    for side in (node.left, node.right)) else None
            return None if None in kinds else "A" if "A" in kinds else "F"
        if not isinstance(node, gast.Call) or node.keywords:
            return None
        func = node.func
        if isinstance(func, gast.Attribute) and func.attr in (
                "sum", "mean") and not node.args and not (
                    isinstance(func.value, gast.Name)
                    and func.value.id not in self.local):  # (a module's)
            reduced = func.value
        elif len(node.args) == 1 and any(
                self.resolved(func) is f for f in _TOTALS):
            reduced = node.args[0]
        elif len(node.args) == 1 and any(
                self.resolved(func) is f for f in _FLOAT_UFUNCS):
            inner = self._value_kind(node.args[0], made, leaves, group)
            return None if inner is None else "A" if inner == "A" else "F"
        elif len(node.args) == 2 and any(
                self.resolved(func) is f for f in _FLOAT_BINARY_UFUNCS):
            kinds = {self._value_kind(a, made, leaves, group)
                     for a in node.args}  # (a ufunc of two floats: no raise)
            return None if None in kinds else "A" if "A" in kinds else "F"
        else:
            return None
        if group is not None:
            return None  # (a reduction under one: its own shape)
        leaves[0].append([])
        inner = self._value_kind(reduced, made, leaves, leaves[0][-1])
        return "F" if inner == "A" else None

    def checked_as_float64(self, node, made, leaves):
        """Make `node`, if it is a number `_value_kind` takes from outside
        the value, one that `runtime.float64_seed` checks is a NumPy
        float64 (not a Python float); returns whether it did. Only a name
        the function assigns once, at its top level, a value that is a
        NumPy float64 when its operands are float64 arrays or numbers
        (`budget = np.sum(w) - 1.0`): another (a parameter, a global, an
        array) would more likely fail the check on every call."""
        if not isinstance(node, gast.Name) or node.id in made or \
                node.id not in leaves[1] or self.stores.get(node.id) != 1:
            return False  # (a parameter is stored once by the call)
        value = self.top_level.get(node.id)
        if value is None or self._value_kind(
                value, _TRIAL, ([], [], [])) != "F":
            return False
        leaves[1].remove(node.id)
        if node.id not in leaves[2]:
            leaves[2].append(node.id)
        return True

    def absorb(self, tree):
        """`t = -a; ...; u = t * 4.0` -> `u = a * -4.0` in derivative code:
        a negation read once is moved into its reader where the reader's
        arithmetic takes the sign (into a number factor, or `b + t` into
        `b - a`; see `identity`), or an adjoint's `g[i] += t` into
        `g[i] -= a`, so that it costs no pass of its own. Only past pure
        statements that do not assign what it reads."""
        loads = collections.Counter(_names(tree, gast.Load))
        for block in _blocks(tree.body):
            removed = set()
            for i, stmt in enumerate(block):
                name = _target(stmt)
                if name not in self.derivative_names or loads[name] != 1 or \
                        self.stores[name] != 1 or len(stmt.targets) != 1 or \
                        not _is_negation(stmt.value) or not self.is_pure(
                            stmt.value):
                    continue
                j = self.reader(block, i, removed, augmented=True)
                if j is not None and (self.accumulates_negated(
                        block[j], name, stmt.value) or _target(block[j]) in
                        self.derivative_names and self.takes_sign(
                            block[j], name, stmt.value)):
                    removed.add(i)
                    self.stores[name] -= 1
            block[:] = [s for i, s in enumerate(block) if i not in removed]

    def accumulates_negated(self, stmt, name, negation):
        """`g[i] += t` or `g -= t` (g an adjoint) of `t`, `name`, made
        `g[i] -= a` or `g += a` for `negation` (`-a`); returns whether
        it was (the same numbers: x + -a is x - a)."""
        if not (isinstance(stmt, gast.AugAssign) and isinstance(
                stmt.op, (gast.Add, gast.Sub)) and isinstance(
                    stmt.value, gast.Name) and stmt.value.id == name and
                _root(stmt.target) in self.derivative_names):
            return False
        stmt.op = gast.Sub() if isinstance(stmt.op, gast.Add) else gast.Add()
        stmt.value = negation.operand
        return True

    def reader(self, block, i, removed, may_pass=lambda j, later: True,
               augmented=False):
        """The index of the assignment in `block` that reads the target of
        `block[i]`, if it comes within _REACH past assignments of pure
        values to names block[i] does not read (nothing in between changes
        what it reads or has effects to order against), each of which, and
        the reader, `may_pass(j, later)`; else None. The reader may be an
        augmented assignment if `augmented`. Statements in `removed` and
        comments are skipped."""
        stmt = block[i]
        name, reads = _target(stmt), set(_names(stmt.value, gast.Load))
        for j in range(i + 1, min(len(block), i + 1 + _REACH)):
            later = block[j]
            if j in removed or codegen.is_comment(later):
                continue
            if augmented and isinstance(later, gast.AugAssign) and \
                    name in _names(later.value, gast.Load):
                return j if may_pass(j, later) else None
            if not isinstance(later, gast.Assign) or not may_pass(j, later):
                return None
            if name in _names(later.value, gast.Load):
                return j
            if not self.is_pure(later.value) or reads.intersection(
                    _names(later, gast.Store)):
                return None
        return None

    def takes_sign(self, stmt, name, negation):
        """Put `negation` (`-a`) for the read of `name` in `stmt` if its
        arithmetic then takes the sign; returns whether it did."""
        kept = stmt.value
        trial = trees.clone(kept)
        parent, field, index = _parent_of_read(trial, name)
        if parent is None:
            return False
        negation = trees.clone(negation)
        if index is None:
            setattr(parent, field, negation)
        else:
            getattr(parent, field)[index] = negation
        trial = self.expr(trial, True)
        if any(n is negation for n in trees.walk(trial)):
            return False  # (still a pass of its own)
        stmt.value = trial
        return True

    def is_pure(self, node):
        """Does `node` compute a value without effects: pure kinds of
        expression, and calls only of pure functions other than the
        helpers that write into an array?"""
        loads, stores, calls = _summary(node)
        return not stores and all(
            self.is_pure_call(c.func) and not self.writes_in_place(c)
            for c in calls) and all(
                isinstance(n, _PURE) for n in trees.walk(node))

    def writes_in_place(self, call):
        return any(self.is_runtime_call(call, helper) for helper in
                   _IN_PLACE) or any(k.arg == "owned" for k in call.keywords)

    def substitute(self, node, name, value):
        """Replace the one read of `name` in `node` by `value`, if the read
        is computed whatever happens and `node` is pure or a call writing
        into an array whose arguments are pure. Returns whether it did."""
        if not self.is_pure(node):
            if not (isinstance(node, gast.Call) and self.writes_in_place(node)
                    and all(self.is_pure(a) for a in node.args) and all(
                        self.is_pure(k.value) for k in node.keywords)):
                return False
        parent, field, index = _parent_of_read(node, name)
        if parent is None:
            return False
        if index is None:
            setattr(parent, field, value)
        else:
            getattr(parent, field)[index] = value
        return True

    def drop_repeated_loops(self, tree):
        """Drop a loop of the forward sweep that the backward sweep repeats
        (a likelihood summed over data, `tot = tot + r * r`, whose total a
        gradient does not return): one at the function's top level whose
        values nothing after it reads, over the range the backward sweep
        iterates in reverse, each of whose statements that may raise
        (`DATA[t]`, `math.log(s)`, `1.0 / v`) the backward loop computes
        again as written, the same value in the same iteration, and the
        others arithmetic of numbers that cannot raise (`+`, `-`, `*`; code
        of numbers: see `optimize`'s `arrays`). The backward sweep then
        raises what the function would (see `eliminate`). What only fed
        the loop goes with it."""
        body, dropped = tree.body, False
        for i in range(len(body) - 1, -1, -1):
            loop = body[i]
            if not (isinstance(loop, gast.For) and not loop.orelse and
                    isinstance(loop.iter, gast.Name) and
                    isinstance(loop.target, gast.Name)):
                continue
            back = next((s for s in body[i + 1:] if _iterates_back(
                s, loop)), None)
            if back is None or set(_names(loop, gast.Store)) & _live_in(
                    body[i + 1:]):
                continue
            again = {trees.unparse(s) for s in back.body
                     if isinstance(s, gast.Assign)}
            if all(isinstance(s, gast.Assign) and len(s.targets) == 1 and
                   isinstance(s.targets[0], gast.Name) and (
                       _arithmetic(s.value) or trees.unparse(s) in again)
                   for s in loop.body):
                del body[i]
                dropped = True
        if dropped:
            self.eliminate(tree)

    def eliminate(self, tree):
        """Drop assignments whose target is never read (self-reads excluded)
        and loops over ranges left with nothing to do."""
        reads = {}  # id(statement) -> names it reads, its own target excluded
        loads = collections.Counter()
        for block in _blocks(tree.body):
            for stmt in block:
                own = _target(stmt)
                reads[id(stmt)] = [n for n in _names(_shallow(stmt), gast.Load)
                                   if n != own]
                loads.update(reads[id(stmt)])

        def dead(stmt):
            if isinstance(stmt, gast.For):
                return not stmt.body and not stmt.orelse and _inert(
                    stmt.iter) and not any(
                        loads[n] for n in _names(stmt.target, gast.Store))
            name = _target(stmt)
            return name is not None and not loads[name] and not _pops(stmt) \
                and (name in self.derivative_names or _cannot_raise(
                    stmt.value))
        changed = False
        removed = True
        while removed:  # an emptied loop body shows in its block next round
            removed = False
            for block in _blocks(tree.body):
                keep = []
                for stmt in reversed(block):  # a chain of dead values at once
                    if dead(stmt):
                        loads.subtract(reads[id(stmt)])
                        removed = changed = True
                    else:
                        keep.append(stmt)
                block[:] = reversed(keep)
        return changed


# Expressions whose value depends only on their operands (given pure calls).
# List, dict and set displays are left out: each makes a new mutable object.
_PURE = (gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp, gast.Compare,
         gast.BoolOp, gast.IfExp, gast.Attribute, gast.Subscript, gast.Slice,
         gast.Tuple, gast.Call, gast.keyword, gast.Load, gast.operator,
         gast.unaryop, gast.cmpop, gast.boolop)
_SCOPES = (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp,
           gast.GeneratorExp)
_PURE_KINDS = {}  # node class -> is it one of _PURE?
_OPERATORS = ("ctx", "op", "ops")  # fields holding contexts or operators


class _Held:
    """The walk of `_Passes.reuse`: which expressions names hold, undone on
    leaving a block through a log of changes.

    A call that is not pure (a user function, a method, `tape.pop()`) may
    change what an attribute, an item or an array holds, so nothing held
    before it is reused after it: each holder records the epoch it was made
    in, and such a call starts a new epoch that the holders must reach.

    A copy `t = h` makes `t` an alias until either is assigned again: from
    there on the walk reads `h` for `t`, so what the copy's readers compute
    is found held in the same walk, not one round of `optimize` later per
    link of a chain (names assigned once: `propagate` removes the copy
    next; others, assigned in both sweeps, an adjoint's only in code of
    numbers, see `optimize`). A copy read so to itself, `t = t`, goes.
    """

    def __init__(self, passes, stores):
        self.passes = passes
        self.stores = stores  # name -> how many times it is assigned
        self.holder = {}  # expression key -> (name holding it, its epoch)
        self.numbers = {}  # an expression's parts -> its key
        self.readers = collections.defaultdict(list)  # name -> keys reading it
        self.alias = {}  # name -> the name it is a copy of
        self.copies = collections.defaultdict(list)  # name -> its aliases
        self.tables = {"holder": self.holder, "readers": self.readers,
                       "alias": self.alias, "copies": self.copies}
        self.updated = passes.updated  # names of arrays changed in place
        self.log = []  # (table, key, previous value or None), to undo
        self.epoch = 0  # raised by each impure call ...
        self.barrier = 0  # ... the last one on this path

    def impure(self, node, calls=None):
        """Does `node` (whose calls are `calls`, if given) call something
        that is not pure?"""
        if calls is None:
            calls = _summary(node)[2]
        is_pure = self.passes.is_pure_call
        return any(not is_pure(call.func) for call in calls)

    def fence(self):
        """Nothing held so far is reused on this path."""
        self.epoch += 1
        self.barrier = self.epoch

    def block(self, stmts):
        kept = []
        for stmt in stmts:
            if not self.statement(stmt):
                kept.append(stmt)
        stmts[:] = kept

    def statement(self, stmt):
        """Walk one statement of a block; True when it is gone: a copy of a
        name to itself (`a = b` read `a = a` where `b` copies `a`)."""
        if isinstance(stmt, gast.FunctionDef):
            self.forget({stmt.name})
            return False
        if isinstance(stmt, (gast.For, gast.While)):
            self.loop(stmt)
            return False
        if isinstance(stmt, gast.Delete):  # (no longer read through)
            self.forget(set(_names(stmt, gast.Del)))
            return False
        if isinstance(stmt, gast.If):
            if self.impure(stmt.test):
                self.fence()
            stmt.test = self.expr(stmt.test)[0]
            start, barriers = self.barrier, []
            for branch in (stmt.body, stmt.orelse):
                mark = len(self.log)
                self.barrier = start
                self.block(branch)
                self.undo(mark)
                barriers.append(self.barrier)
            self.barrier = max(barriers)
            self.forget(set(_names(stmt, gast.Store)))
            return False
        known = self.passes.summaries.get(id(stmt))
        _, stores, calls = known[1] if known and known[0] is stmt \
            else _summary(stmt)
        impure = self.impure(stmt, calls)
        if impure:
            self.fence()
        target = _target(stmt)
        if isinstance(stmt, (gast.Assign, gast.Expr, gast.Return)) \
                and stmt.value is not None:
            changed, self.passes.changed = self.passes.changed, False
            # an array changed in place is its own (see
            # `_Passes.updated_in_place`): not read from another name
            stmt.value, key, reads = self.expr(
                stmt.value, whole=target not in self.updated)
            if self.passes.changed:
                self.passes.dirty[id(stmt)] = stmt
            self.passes.changed |= changed
            if type(stmt.value) is gast.Name and stmt.value.id == target:
                self.stores[target] -= 1
                return True
        else:
            key = None
        self.forget(stores)
        if impure:
            self.fence()
        if key is not None and target is not None and target not in reads \
                and target not in self.updated \
                and not isinstance(stmt.value, _LEAVES):
            self.hold(key, target, reads)
        elif target is not None and type(stmt.value) is gast.Name and (
                self.stores[target] == 1 and self.stores[stmt.value.id] <= 1
                or self.passes.all_copies or
                target not in self.passes.derivative_names):
            # (not `a = a`: gone above)
            self.copy(target, stmt.value.id)
        return False

    def loop(self, stmt):
        assigned = set(_names(stmt, gast.Store))
        if isinstance(stmt, gast.For):
            if self.impure(stmt.iter):
                self.fence()
            stmt.iter = self.expr(stmt.iter)[0]  # evaluated once, before
        mark = len(self.log)
        self.forget(assigned)  # as the previous iteration may have left them
        if self.impure(stmt):  # ... and its calls may have changed
            self.fence()
        if isinstance(stmt, gast.While):
            stmt.test = self.expr(stmt.test)[0]
        self.block(stmt.body)
        self.undo(mark)
        self.forget(assigned)
        mark = len(self.log)
        self.block(stmt.orelse)
        self.undo(mark)
        self.forget(assigned)

    def expr(self, node, whole=True):
        """`node` with held subexpressions read from their holders (itself
        too unless `whole` is False), its key (None unless pure) and the
        names it reads."""
        self.reads = []
        node, key = self.walk(node, whole)
        return node, key, set(self.reads)

    def walk(self, node, whole=True):
        """`expr`'s walk: (node, key); the names it reads are appended to
        `self.reads`."""
        kind = type(node)
        if kind is gast.Name:
            name = node.id
            alias = self.alias.get(name)
            if alias is not None and type(node.ctx) is gast.Load:
                self.passes.changed = True
                node, name = gast.Name(alias, gast.Load(), None, None), alias
            self.reads.append(name)
            return node, ("name", name)
        if kind is gast.Constant:
            return node, ("constant", type(node.value), node.value)
        if kind in _SCOPES:  # its own names may shadow ours
            self.reads.extend(_names(node, gast.Load))
            return node, None
        pure = _PURE_KINDS.get(kind)
        if pure is None:
            pure = _PURE_KINDS[kind] = issubclass(kind, _PURE)
        if pure and kind is gast.Call:
            pure = self.passes.is_reusable_call(node.func)
        mark = len(self.reads)
        parts = [kind]
        for field in kind._fields:
            value = getattr(node, field, None)
            if field in _OPERATORS:  # a context or operator(s): its kind
                part = tuple(map(type, value)) if type(value) is list \
                    else type(value)
            elif isinstance(value, gast.AST):
                new, part = self.walk(value)
                if new is not value:
                    setattr(node, field, new)
            elif type(value) is list:
                items = [self.walk(v) if isinstance(v, gast.AST)
                         else (v, ("value", v)) for v in value]
                if any(new is not v for (new, _), v in zip(items, value)):
                    setattr(node, field, [new for new, _ in items])
                part = tuple(k for _, k in items)
                pure = pure and None not in part
            else:
                part = ("value", value)
            pure = pure and part is not None
            parts.append(part)
        if not pure:
            return node, None
        # (a number for each distinct expression: a key nests its operands'
        # numbers, not their keys, so hashing it costs its own size only)
        key = self.numbers.setdefault(tuple(parts), len(self.numbers))
        held = self.holder.get(key)
        if held is None or held[1] < self.barrier or not whole:
            return node, key
        self.passes.changed = True
        name = held[0]
        del self.reads[mark:]
        self.reads.append(name)
        return gast.Name(name, gast.Load(), None, None), ("name", name)

    def hold(self, key, name, reads):
        self.log.append(("holder", key, self.holder.get(key)))
        self.holder[key] = (name, self.epoch)
        for read in reads | {name}:
            self.readers[read].append(key)

    def copy(self, name, source):
        """`name = source`: read source for name until either is assigned
        again."""
        self.log.append(("alias", name, self.alias.get(name)))
        self.alias[name] = source
        self.log.append(("copies", source, self.copies.get(source)))
        self.copies[source] = self.copies.get(source, []) + [name]

    def forget(self, names):
        """Drop what names hold and what is held that reads them (a key
        listed under a name it no longer depends on is dropped too, which
        only loses a reuse), and the aliases of and for them."""
        for name in names:
            if self.copies or self.alias:
                for alias in self.copies.get(name, ()):
                    if alias in self.alias:
                        self.log.append(("alias", alias,
                                         self.alias.pop(alias)))
                if name in self.alias:
                    self.log.append(("alias", name, self.alias.pop(name)))
            keys = self.readers.pop(name, None)
            if keys is None:
                continue
            self.log.append(("readers", name, keys))
            for key in keys:
                if key in self.holder:
                    self.log.append(("holder", key, self.holder.pop(key)))

    def undo(self, mark):
        while len(self.log) > mark:
            kind, key, previous = self.log.pop()
            table = self.tables[kind]
            if previous is None:
                table.pop(key, None)
            else:
                table[key] = previous


# what `defer_value` moves: total reductions, which make a NumPy float64 of
# a float64 array, and ufuncs of one float64 value that give one
_TOTALS = (np.sum, np.mean)
_FLOAT_UFUNCS = (np.exp, np.log, np.sqrt, np.tanh, np.abs, np.square,
                 np.log1p, np.expm1, np.sin, np.cos, np.negative)
_FLOAT_BINARY_UFUNCS = (np.logaddexp, np.logaddexp2, np.maximum, np.minimum,
                        np.hypot, np.arctan2)

_TRIAL = {}  # (`made` for a value `defer_value` only classifies)


class _Vectors(list):
    """The names a product `a @ b` reads in a value `defer_value` moves:
    float64 arrays of one shape, and 1-D (see `runtime.float64_seed`)."""


# the runtime helpers that may write into their first argument
_IN_PLACE = ("setitem_owned", "setitem_in_place", "restore", "cleared",
             "accumulated", "appended_owned", "appended_in_place",
             "unappended")


_REACH = 30  # statements `nest` looks ahead for a name's one read


def _parent_of_read(node, name):
    """(parent, field, index in the field's list or None) of the one read
    of `name` in `node`, or (None, ...) when it is in a part computed only
    sometimes (`a if c else b`'s a and b, `and`/`or` past the first)."""
    for parent in trees.walk(node):
        kind = type(parent)
        for field in _CHILDREN.get(kind) or trees.children(kind):
            value = getattr(parent, field, None)
            items = value if type(value) is list else [value]
            for index, child in enumerate(items):
                if isinstance(child, gast.Name) and child.id == name and \
                        isinstance(child.ctx, gast.Load):
                    if kind is gast.IfExp and field != "test" or \
                            kind is gast.BoolOp and index > 0:
                        return None, None, None
                    return parent, field, (
                        index if type(value) is list else None)
    return None, None, None


def _header(loop):
    """What a loop evaluates outside its body: a `while`'s test, a `for`'s
    iterable and target."""
    return [loop.test] if isinstance(loop, gast.While) else [loop.iter,
                                                             loop.target]


def _items_read(stmts, name):
    """How many times `stmts` read `name[k]`, k a constant."""
    return sum(isinstance(n, gast.Subscript) and isinstance(
        n.value, gast.Name) and n.value.id == name and isinstance(
        n.slice, gast.Constant) for s in stmts for n in trees.walk(s))


def _mark_owned(call):
    """`call`, a `runtime.getitem_adjoints`, told its total is an array the
    code owns (`owned=True`)."""
    call.keywords.append(gast.keyword("owned", gast.Constant(True, None)))


def _owned_copy(name, runtime_name):
    """`name = runtime.owned_adjoint(name)`."""
    return gast.Assign([gast.Name(name, gast.Store(), None, None)],
                       _runtime_call(runtime_name, "owned_adjoint", [
                           gast.Name(name, gast.Load(), None, None)]), None)


def _add_in_place(name, loop, assignments, runtime_name, scatters_only=False):
    """Turn `loop`'s accumulations of `name` into `runtime.accumulated` if
    they are all of its `assignments` and `loop` reads `name` nowhere else
    (with `scatters_only`: if they all add items' adjoints, `scatter_into`);
    whether it did."""
    sites = []
    for block in _blocks(loop.body):
        for i, stmt in enumerate(block):
            if name in _names(_shallow(stmt), gast.Load) or name in _names(
                    _shallow(stmt), gast.Store):
                if not (_accumulation(stmt) and not scatters_only) and \
                        not _scatter_into(stmt, runtime_name):
                    return False
                sites.append((block, i))
    header = _header(loop)
    if not sites or len(sites) != assignments or any(
            name in _names(node, gast.Load) for node in header + loop.orelse):
        return False
    for block, i in sites:
        stmt = block[i]
        if isinstance(stmt.value, gast.Call):  # (a `_scatter_into`)
            _mark_owned(stmt.value)
        else:
            stmt.value = _runtime_call(runtime_name, "accumulated",
                                       [stmt.value.left, stmt.value.right])
    return True


def _scatter_into(stmt, runtime_name):
    """Is `stmt` `a = runtime.getitem_adjoints(a, x, g1, i1, ...)` (the rest
    not reading a): slices of x's adjoints added to a?"""
    name, value = _target(stmt), getattr(stmt, "value", None)
    func = getattr(value, "func", None)
    return name is not None and isinstance(value, gast.Call) and isinstance(
        func, gast.Attribute) and func.attr == "getitem_adjoints" and \
        isinstance(func.value, gast.Name) and func.value.id == runtime_name \
        and not value.keywords and isinstance(value.args[0], gast.Name) and \
        value.args[0].id == name and not any(
            name in _names(a, gast.Load) for a in value.args[1:])


def _accumulation(stmt):
    """Is `stmt` of the form `a = a + g` (g not reading a)?"""
    name = _target(stmt)
    if name is None:
        return False
    value = stmt.value
    return (isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add)
            and isinstance(value.left, gast.Name) and value.left.id == name
            and name not in _names(value.right, gast.Load))


# Merged accumulations stop at this many terms: `a = g1 + g2 + ...` nests
# one BinOp per term, and printing (gast_to_ast, ast.unparse) recurses per level.
_MAX_TERMS = 64


def _sum_length(expr):
    """How many terms `expr` adds up along its left spine."""
    count = 1
    while isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Add):
        count += 1
        expr = expr.left
    return count


def _runtime_call(runtime_name, helper, args):
    """`<runtime_name>.helper(*args)`."""
    return gast.Call(gast.Attribute(
        gast.Name(runtime_name, gast.Load(), None, None), helper,
        gast.Load()), args, [])


def _sum(terms):
    """`terms[0] + terms[1] + ...`, added left to right."""
    total = terms[0]
    for term in terms[1:]:
        total = gast.BinOp(total, gast.Add(), term)
    return total


def _is_zero(node):
    """Is `node` the constant 0.0?"""
    return isinstance(node, gast.Constant) and type(node.value) is float \
        and node.value == 0.0


def _target(stmt):
    """The name a statement assigns, if it is `name = value`; else None."""
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


def _root(target):
    """The name `g` of an assignment's target `g` or `g[i][j]`, or None."""
    while isinstance(target, gast.Subscript):
        target = target.value
    return target.id if isinstance(target, gast.Name) else None


def _cannot_raise(node):
    """Is `node` a name, a constant, or a tuple of them? The user's own
    statements are kept even when nothing reads them unless they are: a
    call, an operation or an index may raise (`math.log(-1.0)`, shapes
    that do not broadcast), and then the derivative raises too, as the
    function does."""
    if isinstance(node, (gast.Tuple, gast.List)):
        return all(map(_cannot_raise, node.elts))
    return isinstance(node, _LEAVES)


def _iterates_back(stmt, loop):
    """Is `stmt` `for t in reversed(r):` of the `for t in r:` `loop`?"""
    it = getattr(stmt, "iter", None)
    return isinstance(stmt, gast.For) and isinstance(
        stmt.target, gast.Name) and stmt.target.id == loop.target.id and \
        isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and \
        it.func.id == "reversed" and len(it.args) == 1 and not \
        it.keywords and isinstance(it.args[0], gast.Name) and \
        it.args[0].id == loop.iter.id


def _arithmetic(node):
    """Is `node` `+`, `-` and `*` of names and number constants, which no
    number makes raise?"""
    if isinstance(node, gast.BinOp):
        return isinstance(node.op, (gast.Add, gast.Sub, gast.Mult)) and \
            _arithmetic(node.left) and _arithmetic(node.right)
    if isinstance(node, gast.UnaryOp):
        return isinstance(node.op, (gast.USub, gast.UAdd)) and \
            _arithmetic(node.operand)
    return isinstance(node, gast.Name) or isinstance(
        node, gast.Constant) and type(node.value) in (int, float)


def _inert(node):
    """Is `node` a name, a constant, or range/reversed/len of them (a loop
    over it does nothing but loop)?"""
    if isinstance(node, _LEAVES):
        return True
    return (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
            and node.func.id in ("range", "reversed", "len")
            and not node.keywords and all(map(_inert, node.args)))


def _pops(stmt):
    """`x = tape.pop()` must stay even when x is unread: the tape moves."""
    value = stmt.value
    return (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute)
            and value.func.attr == "pop")


def _shallow(stmt):
    """`stmt` without its nested blocks (they are visited as blocks)."""
    if isinstance(stmt, (gast.If, gast.While)):
        return stmt.test
    if isinstance(stmt, gast.For):
        return stmt.iter
    return stmt


@functools.lru_cache(maxsize=None)
def _parameters(helper):
    return list(inspect.signature(helper).parameters.values())


def _drop_default_arguments(call):
    """`runtime.unreduce(g, x, None, False)` -> `runtime.unreduce(g, x)`."""
    helper = getattr(runtime, call.func.attr, None)
    if helper is None or call.keywords:
        return call
    params = _parameters(helper)
    args = list(call.args)
    while args and len(args) <= len(params):
        default = params[len(args) - 1].default
        last = args[-1]
        same = isinstance(last, gast.Constant) and (
            last.value is default or (type(last.value) is type(default)
                                      and last.value == default))
        if not same:
            break
        args.pop()
    if len(args) == len(call.args):
        return call
    return gast.Call(call.func, args, [])


def _fold(node):
    """Fold an operation on numeric constants, or None."""
    if isinstance(node, gast.BinOp) and type(node.op) in _FOLD and _is_number(
            node.left) and _is_number(node.right):
        try:
            value = _FOLD[type(node.op)](node.left.value, node.right.value)
        except (ArithmeticError, ValueError):
            return None
        return gast.Constant(value, None)
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) \
            and _is_number(node.operand):
        return gast.Constant(-node.operand.value, None)
    if isinstance(node, gast.IfExp) and isinstance(node.test, gast.Constant):
        return node.body if node.test.value else node.orelse
    return None


def _free(tree, runtime_name):
    """`del` the function's own values once the code no longer reads them,
    so that an array is freed then, not when the function returns (or, in
    a loop, when the next iteration assigns the name again):

    - at the function's top level, at the end of each block of statements
      under one comment (the forward sweep, the adjoint of one line) and
      before each loop, the names whose last read it holds; not in the
      last block, which the return ends anyway. Names assigned at the top
      level before that point (so bound there), whatever loops or branches
      assign them too: a loop's carried value once the sweep has read it
      last;
    - in a loop's body, the names assigned once that it assigns at its
      top level and reads only after that, in the same iteration: at the
      end of the piece under one comment that reads them last.

    Only names read by no nested function or generator (which may run
    later); never the parameters, nor the output value a seed reads (a
    number).
    """
    kept = kept_names(tree, runtime_name)
    stores = collections.Counter(_names(tree, gast.Store))
    loads = collections.Counter(_names(tree, gast.Load))
    for loop in trees.walk(tree):
        if isinstance(loop, (gast.For, gast.While)):
            loop.body = _freed_each_iteration(loop.body, stores, loads, kept)
    for block in _blocks(tree.body):
        block[:] = _freed_after_loops(block, kept)
    freed = freed_at_top_level(tree.body, kept_names(tree, runtime_name))
    out = []
    for i, stmt in enumerate(tree.body):
        out.append(stmt)
        if i in freed:
            out.append(_deletion(freed[i]))
    tree.body = out


def kept_names(tree, runtime_name):
    """The names of the function `tree` that `_free` leaves: its
    parameters, what a nested function or generator reads (it may run
    later), the output value a seed reads and a deferred seed (numbers),
    and what a `del` frees already."""
    args = tree.args
    kept = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs
            + [args.vararg, args.kwarg] if a is not None}
    for node in trees.walk(tree):
        if isinstance(node, (gast.Lambda, gast.FunctionDef,
                             gast.GeneratorExp)) and node is not tree:
            kept.update(_names(node, gast.Load))
        elif isinstance(node, gast.Call) and trees.dotted(node.func) in (
                (runtime_name, "seed"), (runtime_name, "check_scalar")):
            kept.update(_names(node, gast.Load))
        elif isinstance(node, gast.Assign) and isinstance(
                node.value, gast.Call) and trees.dotted(node.value.func) == (
                    runtime_name, "float64_seed"):
            kept.update(_names(node, gast.Store))  # (a number too)
        elif isinstance(node, gast.Delete):
            kept.update(name.id for name in node.targets)
    return kept


def freed_at_top_level(body, kept):
    """Where `_free` deletes what the function's top-level statements
    `body` last read: {index of a statement: the names to delete after
    it}, for the names not `kept`.

    The body is cut before each comment that follows code (the forward
    sweep, the adjoint of one line) and before each loop (a value read
    last before a loop is not kept through it); a name goes at the end of
    the piece holding its last read, not in the last piece (which the
    return ends anyway), once a top-level assignment has bound it there,
    whatever loops or branches assign it too (a loop's carried value)."""
    bound = {}
    for i, stmt in enumerate(body):
        if isinstance(stmt, gast.Assign):
            for name in _names(stmt, gast.Store):
                bound.setdefault(name, i)
    ends = _piece_ends(body, loops=True)
    freed = collections.defaultdict(list)
    for name, i in _last_reads(body).items():
        if ends[i] < ends[-1] and name not in kept and (
                bound.get(name, len(body)) <= ends[i]):
            freed[ends[i]].append(name)
    return freed


def _piece_ends(body, loops=False):
    """For each statement of `body`, the index of the last statement of
    its piece: the body is cut before each comment that follows code (the
    forward sweep, the adjoint of one line) and, with `loops`, before each
    loop not under a comment of its own."""
    comments = [codegen.is_comment(stmt) for stmt in body]
    starts = [i for i, stmt in enumerate(body) if i and not comments[i - 1]
              and (comments[i] or loops and isinstance(stmt, (
                  gast.For, gast.While)))]
    ends, end = [0] * len(body), len(body) - 1
    for i in range(len(body) - 1, -1, -1):
        ends[i] = end
        if starts and starts[-1] == i:
            starts.pop()
            end = i - 1
    return ends


def _last_reads(body):
    """name -> the index of the statement of `body` that reads it last."""
    last = {}
    for i, stmt in enumerate(body):
        for name in _names(stmt, gast.Load):
            last[name] = i
    return last


def _freed_each_iteration(body, stores, loads, kept):
    """A loop's `body` with a `del` of the names it assigns at its top
    level (once in the function) and reads only after that, in the same
    iteration (see `_free`): at the end of the piece of the body, under
    one comment, that reads them last."""
    assigned, read = {}, collections.Counter()
    early = set()  # read before the body assigns them: the last iteration's
    for i, stmt in enumerate(body):
        for name in _names(stmt, gast.Load):
            read[name] += 1
            if name not in assigned:
                early.add(name)
        if isinstance(stmt, gast.Assign):
            for name in _names(stmt, gast.Store):
                assigned.setdefault(name, i)
    names = [n for n in assigned if stores[n] == 1 and n not in kept and
             n not in early and read[n] and read[n] == loads[n]]
    # at the end of the piece of the body (the adjoint of one line) that
    # reads them last; those of the last piece at the end of the body
    ends, last = _piece_ends(body), _last_reads(body)
    freed = collections.defaultdict(list)
    for name in names:
        freed[ends[last[name]]].append(name)
    if body and isinstance(body[-1], (gast.Break, gast.Continue,
                                      gast.Return)):
        freed.pop(len(body) - 1, None)
    out = []
    for i, stmt in enumerate(body):
        out.append(stmt)
        if freed.get(i):
            out.append(_deletion(freed[i]))
    return out


def _freed_after_loops(block, kept):
    """`block` with a `del`, after each loop known to run once or more
    (marked `runs`: a checkpointed loop's bundle), of the names its body
    assigns at its top level (so on every step) that the rest of the
    block does not read: its last step's values, which would otherwise
    live on through the reverse sweep that follows it."""
    out = []
    for i, stmt in enumerate(block):
        out.append(stmt)
        if not (isinstance(stmt, gast.For) and getattr(stmt, "runs", False)):
            continue
        later = set(_names(gast.Module(block[i + 1:], []), gast.Load))
        names = {n for s in stmt.body if isinstance(s, gast.Assign)
                 for n in _names(s, gast.Store)} - later - kept
        if names:
            out.append(_deletion(names))
    return out


def _deletion(names):
    """`del a, b, ...` of `names`, sorted."""
    return gast.Delete([gast.Name(n, gast.Del(), None, None)
                        for n in sorted(names)])


def _clean(stmts):
    """Remove empty branches, and comments with no code after them."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.If):
            stmt.body = _clean(stmt.body)
            stmt.orelse = _clean(stmt.orelse)
            if not stmt.body and not stmt.orelse:
                continue
            if not stmt.body:
                stmt.test = gast.UnaryOp(gast.Not(), stmt.test)
                stmt.body, stmt.orelse = stmt.orelse, []
        elif isinstance(stmt, (gast.For, gast.While)):
            stmt.body = _clean(stmt.body) or [gast.Pass()]
        elif isinstance(stmt, gast.Pass):
            continue
        out.append(stmt)
    return [s for i, s in enumerate(out) if not (
        codegen.is_comment(s) and (i + 1 == len(out) or isinstance(
            out[i + 1], gast.Return) or codegen.is_comment(out[i + 1])))]


# -- what a tape keeps --
# (shared by the optimiser, on gast, and the specialiser, on ast: `syntax`
# is the module whose node classes the tree is made of)

def tape_lists(tree, syntax=gast):
    """The names of the lists `tree` makes `[]` and then only appends to
    (`xs.append(v)`, a statement) and pops from (`xs.pop()`): its tapes."""
    parents = {}
    for node in gast.walk(tree):
        for child in gast.iter_child_nodes(node):
            parents[child] = node
    made, other = set(), set()
    for node in gast.walk(tree):
        if not isinstance(node, syntax.Name):
            continue
        parent = parents.get(node)
        if isinstance(node.ctx, syntax.Store):
            if isinstance(parent, syntax.Assign) and isinstance(
                    parent.value, syntax.List) and not parent.value.elts:
                made.add(node.id)
            else:
                other.add(node.id)
        elif isinstance(node.ctx, syntax.Load):
            call = parents.get(parent)
            if not (isinstance(parent, syntax.Attribute) and isinstance(
                    call, syntax.Call) and call.func is parent and (
                    parent.attr == "pop" and not call.args or
                    parent.attr == "append" and len(call.args) == 1 and
                    isinstance(parents.get(call), syntax.Expr))):
                other.add(node.id)
    return made - other


def names_pushed(item, syntax=gast):
    """The names a tape's append of `item` is popped into, where it is a
    tuple written out: the backward sweep pops each step's values as its
    forward sweep pushed them, `x` for x or `runtime.like(x)`, `x_shape`
    for `runtime.shape(x)` (None for an item of another kind); None for
    anything else."""
    if not isinstance(item, syntax.Tuple) or any(
            isinstance(e, syntax.Starred) for e in item.elts):
        return None
    names = []
    for e in item.elts:
        called = e.args[0].id if isinstance(e, syntax.Call) and isinstance(
            e.func, syntax.Attribute) and len(e.args) == 1 and isinstance(
                e.args[0], syntax.Name) else None
        kind = called and e.func.attr
        names.append(e.id if isinstance(e, syntax.Name) else called if
                     kind == "like" else called + "_shape" if
                     kind == "shape" else None)
    return tuple(names)


def names_popped(pop, syntax=gast):
    """The names the statement `a, b = tape.pop()` unpacks into (None for
    a pop into one name)."""
    target = pop.targets[0]
    return tuple(getattr(t, "id", None) for t in target.elts) if \
        isinstance(target, syntax.Tuple) else None


def taken_by(names, pushed):
    """Of `pushed` (the `names_pushed` of a tape's appends), those a pop
    unpacking into `names` may take: those that push values so named, or,
    where none does, all that push as many (none for a pop into one
    name)."""
    if names is None:
        return []
    return [k for k in pushed if k == names] or [
        k for k in pushed if k is not None and len(k) == len(names)]


def paired_pops(pushes, pops, syntax=gast):
    """The appends of tuples to a tape (`pushes`, statements) that each of
    its `pops` may take (see `taken_by`), by id of the pop."""
    keys = {id(p): names_pushed(p.value.args[0], syntax) for p in pushes}
    paired = {}
    for pop in pops:
        taken = taken_by(names_popped(pop, syntax), set(keys.values()))
        paired[id(pop)] = [p for p in pushes if keys[id(p)] in taken]
    return paired


def drop_dead_tape_items(stmts, tapes, syntax=gast):
    """Take off the `tapes` (lists only appended to and popped from) the
    items no statement reads once popped: what the reverse sweep kept for
    a helper that a later pass (the optimiser's, the specialiser's) no
    longer calls (`runtime.like(x)` for an adjoint the optimiser made a
    copy). Only items whose push has no effect go (a name, a constant,
    `runtime.like(x)`, `runtime.shape(x)`); a tape left with nothing is
    no longer appended to or popped from, nor made."""
    if not tapes:
        return  # (most functions: nothing to walk for)

    def call_of(node, method):
        return isinstance(node, syntax.Call) and isinstance(
            node.func, syntax.Attribute) and node.func.attr == method

    order = []  # (statement, the loops it is in), in the order written

    def visit(body, loops):
        for stmt in body:
            order.append((stmt, loops))
            inner = loops + (stmt,) if isinstance(
                stmt, (syntax.For, syntax.While)) else loops
            for field in ("body", "orelse", "handlers", "finalbody"):
                visit(getattr(stmt, field, None) or [], inner)
    visit(stmts, ())
    position = {id(stmt): i for i, (stmt, _) in enumerate(order)}
    span = {}  # id of a loop -> the positions of its statements
    for i, (stmt, loops) in enumerate(order):
        for loop in loops:
            first, _ = span.get(id(loop), (i, i))
            span[id(loop)] = (first, i)
    reads = collections.defaultdict(list)  # name -> positions read at
    deletes = collections.defaultdict(list)  # name -> `del` statements
    for i, (stmt, _) in enumerate(order):
        if isinstance(stmt, syntax.Delete):
            for target in stmt.targets:
                deletes[getattr(target, "id", None)].append(i)
            continue
        for node in trees.own_nodes(stmt):
            if isinstance(node, syntax.Name) and not isinstance(
                    node.ctx, syntax.Store):
                reads[node.id].append(i)
    pushes, pops = collections.defaultdict(list), collections.defaultdict(
        list)
    for stmt, loops in order:
        if isinstance(stmt, syntax.Expr) and call_of(stmt.value, "append") \
                and getattr(stmt.value.func.value, "id", None) in tapes:
            pushes[stmt.value.func.value.id].append(stmt)
        elif isinstance(stmt, syntax.Assign) and call_of(
                stmt.value, "pop") and getattr(
                stmt.value.func.value, "id", None) in tapes:
            pops[stmt.value.func.value.id].append((stmt, loops))

    def later(positions, stmt, loops):
        """Those of the positions that may run after `stmt`."""
        at = position[id(stmt)]
        return [i for i in positions if i > at or any(
            span[id(loop)][0] <= i <= span[id(loop)][1] for loop in loops)]

    def dead(name, stmt, loops):
        return not later(reads[name], stmt, loops)

    def droppable(item):  # (a name, or `runtime.like(x)`, `.shape(x)`)
        return isinstance(item, (syntax.Name, syntax.Constant)) or (
            call_of(item, "like") or call_of(item, "shape")) and \
            all(isinstance(a, syntax.Name) for a in item.args)

    def size(node):  # (of a tuple written out, else None)
        return len(node.elts) if isinstance(node, syntax.Tuple) else None

    def drop_dead_items(pushed, popped, n):
        """Of the pushes of n-tuples and their pops, the items dead."""
        keep = [i for i in range(n) if not all(
            isinstance(p.targets[0].elts[i], syntax.Name) and dead(
                p.targets[0].elts[i].id, p, loops) for p, loops in popped)
            or not all(droppable(p.value.args[0].elts[i]) for p in pushed)]
        for p in pushed:
            p.value.args[0].elts = [p.value.args[0].elts[i] for i in keep]
        for p, loops in popped:
            for name in {t.id for i, t in enumerate(p.targets[0].elts)
                         if i not in keep}:  # (no longer bound there)
                for i in later(deletes[name], p, loops):
                    order[i][0].targets = [t for t in order[i][0].targets
                                           if getattr(t, "id", None) != name]
            p.targets[0].elts = [p.targets[0].elts[i] for i in keep]
        return keep

    # the pushes of tuples and the pops they pair with (`paired_pops`),
    # taken in groups closed under pairing (pushes of a name left as they
    # are, and what a pop of a name may take)
    dropped = set()
    for tape in set(pushes) & set(pops):
        paired = paired_pops(pushes[tape], [p for p, _ in pops[tape]],
                             syntax)
        groups = []  # [ids of pushes, [(pop, loops)]]
        for pop, loops in pops[tape]:
            group = [{id(p) for p in paired[id(pop)]}, [(pop, loops)]]
            for other in [g for g in groups if g[0] & group[0]]:
                groups.remove(other)
                group = [group[0] | other[0], group[1] + other[1]]
            groups.append(group)
        for taken, popped in groups:
            pushed = [p for p in pushes[tape] if id(p) in taken]
            sizes = {size(p.value.args[0]) for p in pushed} | {
                size(p.targets[0]) for p, _ in popped}
            if not pushed or len(sizes) != 1 or None in sizes:
                continue
            if not drop_dead_items(pushed, popped, sizes.pop()):
                dropped |= {id(p) for p in pushed} | {
                    id(p) for p, _ in popped}
    # a tape no longer appended to is not made either
    unused = {tape for tape in tapes if all(
        id(p) in dropped for p in pushes[tape]) and all(
            id(p) in dropped for p, _ in pops[tape])}
    for stmt, _ in order:
        if isinstance(stmt, syntax.Assign) and isinstance(
                stmt.targets[0], syntax.Name) and stmt.targets[0].id in unused:
            dropped.add(id(stmt))
        elif isinstance(stmt, syntax.Delete):
            stmt.targets = [t for t in stmt.targets
                            if getattr(t, "id", None) not in unused]

    def without(body):
        body[:] = [stmt for stmt in body if id(stmt) not in dropped and not (
            isinstance(stmt, syntax.Delete) and not stmt.targets)] or [
            gast.copy_location(syntax.Pass(), body[0])]
        for stmt in body:
            for field in ("body", "orelse", "finalbody"):
                if getattr(stmt, field, None):
                    without(getattr(stmt, field))
    without(stmts)

"""Optimisation passes on generated code, run to a fixpoint.

- constant folding (`2 - 1` -> `1`) and `x ** 2` -> `x * x` everywhere;
- algebraic identities (`g * 1.0`, `0.0 + g`, `g * -1.0`, `g * (1.0 / y)`,
  `x ** 1`, `-(-g)`, `e + e` -> `2.0 * e`, `2 * g` -> `2.0 * g`, default
  arguments of runtime helpers dropped) only in derivative statements, whose
  values are floats, so a user's `n * 1.0` (an int-to-float conversion) is
  never removed;
- copy and constant propagation for names assigned once;
- merging an adjoint's first value into its next accumulation
  (`a_bar = g1; a_bar = a_bar + g2` -> `a_bar = g1 + g2`);
- dead-code elimination: assignments nobody reads, empty branches, and
  comments left with no code of their own under them.

Passes never change results; generated code is assumed free of side effects
except for expression statements (the scalar-output check), which are kept.
"""

import collections
import inspect
import operator

import gast

from s2sad import codegen, runtime, trees

_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub,
         gast.Mult: operator.mul, gast.Div: operator.truediv,
         gast.Pow: operator.pow, gast.FloorDiv: operator.floordiv,
         gast.Mod: operator.mod}


def optimize(tree, derivative_names=(), runtime_name="runtime"):
    """Optimise a generated `gast.FunctionDef` in place and return it.

    Args:
        derivative_names: names the derivative code assigns; algebraic
            identities apply only to their statements.
        runtime_name: what the generated code calls s2sad's runtime.
    """
    passes = _Passes(set(derivative_names), runtime_name)
    passes.simplify(tree)  # simplifies bottom-up, to its own fixpoint
    while passes.propagate(tree) | passes.merge(tree):
        passes.simplify(tree)  # new operands may simplify further
    passes.eliminate(tree)  # nothing above needs dead code gone first
    tree.body = _clean(tree.body)
    return tree


_names = trees.names


_LEAVES = (gast.Name, gast.Constant)


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
    def __init__(self, derivative_names, runtime_name):
        self.derivative_names = derivative_names
        self.runtime_name = runtime_name

    # -- expressions --

    def simplify(self, tree):
        self.changed = False
        for block in _blocks(tree.body):
            for stmt in block:
                if isinstance(stmt, gast.Assign):
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
        if new is None and isinstance(node, gast.BinOp) and isinstance(
                node.op, gast.Pow) and isinstance(node.left, gast.Name) \
                and _is_number(node.right, 2):
            # x ** 2 -> x * x: the same correctly rounded value, without pow()
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
            if isinstance(op, gast.Mult):
                for a, b in ((left, right), (right, left)):
                    if _is_number(b, 1):
                        return a
                    if _is_number(b, -1):
                        return gast.UnaryOp(gast.USub(), a)
                if isinstance(right, gast.BinOp) and isinstance(
                        right.op, gast.Div) and _is_number(right.left, 1):
                    return gast.BinOp(left, gast.Div(), right.right)
            if isinstance(op, gast.Add):
                if trees.same(left, right):  # d * d gives g * d twice
                    return gast.BinOp(gast.Constant(2.0, None), gast.Mult(), left)
                if _is_number(left, 0):
                    return right
                if _is_number(right, 0):
                    return left
                if isinstance(right, gast.UnaryOp) and isinstance(
                        right.op, gast.USub):
                    return gast.BinOp(left, gast.Sub(), right.operand)
            if isinstance(op, gast.Sub) and _is_number(right, 0):
                return left
            if isinstance(op, (gast.Div, gast.Pow)) and _is_number(right, 1):
                return left
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub) \
                and isinstance(node.operand, gast.UnaryOp) \
                and isinstance(node.operand.op, gast.USub):
            return node.operand.operand
        if self.is_runtime_call(node, "unbroadcast") and isinstance(
                node.args[0], gast.Constant) and type(node.args[0].value) is float:
            return node.args[0]  # a Python float needs no unbroadcasting
        if self.is_runtime_call(node, ""):
            return _drop_default_arguments(node)
        return node

    def is_runtime_call(self, node, helper):
        func = getattr(node, "func", None)
        return (isinstance(node, gast.Call) and isinstance(func, gast.Attribute)
                and func.attr == (helper or func.attr)
                and isinstance(func.value, gast.Name)
                and func.value.id == self.runtime_name)

    # -- statements --

    def propagate(self, tree):
        """Replace names assigned once to a name or a constant by that value."""
        stores = collections.Counter(_names(tree, gast.Store))
        # a parameter is assigned once already, by the call
        stores.update(n.id for n in gast.walk(tree.args)
                      if isinstance(n, gast.Name))
        replace = {}
        for block in _blocks(tree.body):
            for stmt in block:
                target, value = _target(stmt), getattr(stmt, "value", None)
                if target is None:
                    continue
                if stores[target] != 1:
                    continue
                if isinstance(value, gast.Constant) or (
                        isinstance(value, gast.Name) and stores[value.id] <= 1):
                    replace[target] = value
        if not replace:
            return False

        for name, value in replace.items():
            while isinstance(value, gast.Name) and value.id in replace:
                value = replace[value.id]
            replace[name] = value
        trees.replace_names(tree, replace)
        for block in _blocks(tree.body):
            block[:] = [s for s in block if not (
                _target(s) in replace)]
        return True

    def merge(self, tree):
        """`a = g1; ...; a = a + g2` -> `...; a = g1 + g2` for adjoints."""
        changed = False
        for block in _blocks(tree.body):
            accumulated = {_target(s) for s in block if _accumulation(s)}
            names = {}  # id(statement) -> (loads, stores), computed lazily

            def names_of(stmt):
                if id(stmt) not in names:
                    names[id(stmt)] = (set(_names(stmt, gast.Load)),
                                       set(_names(stmt, gast.Store)))
                return names[id(stmt)]
            i = 0
            while i < len(block):
                first = block[i]
                j = None
                if _target(first) in accumulated & self.derivative_names:
                    j = _merge_target(block, i, names_of)
                if j is None:
                    i += 1
                    continue
                block[j].value.left = first.value
                names.pop(id(block[j]), None)
                del block[i]
                changed = True
        return changed

    def eliminate(self, tree):
        """Drop assignments whose target is never read (self-reads excluded)."""
        reads = {}  # id(statement) -> names it reads, its own target excluded
        loads = collections.Counter()
        for block in _blocks(tree.body):
            for stmt in block:
                own = _target(stmt)
                reads[id(stmt)] = [n for n in _names(_shallow(stmt), gast.Load)
                                   if n != own]
                loads.update(reads[id(stmt)])
        changed = False
        removed = True
        while removed:  # removing a statement may orphan what it read
            removed = False
            for block in _blocks(tree.body):
                keep = []
                for stmt in block:
                    name = _target(stmt)
                    if name is not None and not loads[name] and not _pops(stmt):
                        loads.subtract(reads[id(stmt)])
                        removed = changed = True
                    else:
                        keep.append(stmt)
                block[:] = keep
        return changed


def _accumulation(stmt):
    """Is `stmt` of the form `a = a + g` (g not reading a)?"""
    name = _target(stmt)
    if name is None:
        return False
    value = stmt.value
    return (isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add)
            and isinstance(value.left, gast.Name) and value.left.id == name
            and name not in _names(value.right, gast.Load))


def _merge_target(block, i, names_of):
    """The index of the accumulation `block[i]` can be folded into, or None."""
    name = _target(block[i])
    reads = names_of(block[i])[0]
    for j in range(i + 1, len(block)):
        loads, stores = names_of(block[j])
        if name in loads or name in stores:
            return j if _accumulation(block[j]) and _target(
                block[j]) == name else None
        if reads & stores:
            return None
    return None


def _target(stmt):
    """The name a statement assigns, if it is `name = value`; else None."""
    if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
        return stmt.targets[0].id
    return None


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


def _drop_default_arguments(call):
    """`runtime.unreduce(g, x, None, False)` -> `runtime.unreduce(g, x)`."""
    helper = getattr(runtime, call.func.attr, None)
    if helper is None or call.keywords:
        return call
    params = list(inspect.signature(helper).parameters.values())
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
    return None


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

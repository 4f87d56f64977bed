"""Optimisation passes on generated code, run to a fixpoint.

- constant folding (`2 - 1` -> `1`) and `x ** 2` -> `x * x` everywhere;
- algebraic identities (`g * 1.0`, `0.0 + g`, `g * -1.0`, `g * (1.0 / y)`,
  `x ** 1`, `-(-g)`, `2 * g` -> `2.0 * g`) only in adjoint statements, whose
  values are floats, so a user's `n * 1.0` (an int-to-float conversion) is
  never removed;
- copy and constant propagation for names assigned once;
- merging an adjoint's first value into its next accumulation
  (`a_bar = g1; a_bar = a_bar + g2` -> `a_bar = g1 + g2`);
- dead-code elimination: assignments nobody reads, empty branches, and
  comments left with no code under them.

Passes never change results; generated code is assumed free of side effects
except for expression statements (the scalar-output check), which are kept.
"""

import collections
import copy
import operator

import gast

from s2sad import codegen

_FOLD = {gast.Add: operator.add, gast.Sub: operator.sub,
         gast.Mult: operator.mul, gast.Div: operator.truediv,
         gast.Pow: operator.pow, gast.FloorDiv: operator.floordiv,
         gast.Mod: operator.mod}


def optimize(tree, adjoint_names=(), runtime_name="runtime"):
    """Optimise a generated `gast.FunctionDef` in place and return it.

    Args:
        adjoint_names: names assigned by the reverse sweep; algebraic
            identities apply only to their statements.
        runtime_name: what the generated code calls s2sad's runtime.
    """
    passes = _Passes(set(adjoint_names), runtime_name)
    changed = True
    while changed:
        changed = False
        for step in (passes.simplify, passes.propagate, passes.merge,
                     passes.eliminate):
            changed |= step(tree)
    tree.body = _clean(tree.body)
    return tree


def _names(node, ctx):
    return [n.id for n in gast.walk(node)
            if isinstance(n, gast.Name) and isinstance(n.ctx, ctx)]


def _is_number(node, value=None):
    ok = (isinstance(node, gast.Constant) and type(node.value) in (int, float))
    return ok and (value is None or node.value == value)


def _blocks(stmts):
    """Every statement list in `stmts`, itself first."""
    yield stmts
    for stmt in stmts:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt):
                yield from _blocks(inner)


class _Passes:
    def __init__(self, adjoint_names, runtime_name):
        self.adjoint_names = adjoint_names
        self.runtime_name = runtime_name

    # -- expressions --

    def simplify(self, tree):
        changed = False
        for block in _blocks(tree.body):
            for stmt in block:
                if isinstance(stmt, gast.Assign):
                    identities = stmt.targets[0].id in self.adjoint_names
                    new = self.expr(stmt.value, identities)
                    if gast.dump(new) != gast.dump(stmt.value):
                        stmt.value = new
                        changed = True
        return changed

    def expr(self, node, identities):
        for field, value in gast.iter_fields(node):
            if isinstance(value, gast.expr):
                setattr(node, field, self.expr(value, identities))
            elif isinstance(value, list):
                setattr(node, field, [self.expr(v, identities)
                                      if isinstance(v, gast.expr) else v
                                      for v in value])
        folded = _fold(node)
        if folded is not None:
            return folded
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Pow) \
                and isinstance(node.left, gast.Name) and _is_number(node.right, 2):
            # x ** 2 -> x * x: the same correctly rounded value, without pow()
            return gast.BinOp(node.left, gast.Mult(), copy.deepcopy(node.left))
        if identities:
            return self.identity(node)
        return node

    def identity(self, node):
        if isinstance(node, gast.BinOp):
            if isinstance(node.op, (gast.Mult, gast.Add, gast.Sub, gast.Div)):
                # adjoints are floats: `2 * x` -> `2.0 * x` skips int coercion
                for field in ("left", "right"):
                    value = getattr(node, field)
                    if _is_number(value) and type(value.value) is int:
                        setattr(node, field, gast.Constant(float(value.value),
                                                           None))
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
        return node

    def is_runtime_call(self, node, helper):
        func = getattr(node, "func", None)
        return (isinstance(node, gast.Call) and isinstance(func, gast.Attribute)
                and func.attr == helper and isinstance(func.value, gast.Name)
                and func.value.id == self.runtime_name)

    # -- statements --

    def propagate(self, tree):
        """Replace names assigned once to a name or a constant by that value."""
        stores = collections.Counter(_names(tree, gast.Store))
        replace = {}
        for block in _blocks(tree.body):
            for stmt in block:
                if not isinstance(stmt, gast.Assign):
                    continue
                target, value = stmt.targets[0].id, stmt.value
                if stores[target] != 1:
                    continue
                if isinstance(value, gast.Constant) or (
                        isinstance(value, gast.Name) and stores[value.id] <= 1):
                    replace[target] = value
        if not replace:
            return False

        def resolve(value):
            while isinstance(value, gast.Name) and value.id in replace:
                value = replace[value.id]
            return value
        for node in gast.walk(tree):
            for field, value in gast.iter_fields(node):
                if isinstance(value, gast.Name) and isinstance(
                        value.ctx, gast.Load) and value.id in replace:
                    setattr(node, field, copy.deepcopy(resolve(value)))
                elif isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, gast.Name) and isinstance(
                                item.ctx, gast.Load) and item.id in replace:
                            value[i] = copy.deepcopy(resolve(item))
        for block in _blocks(tree.body):
            block[:] = [s for s in block if not (
                isinstance(s, gast.Assign) and s.targets[0].id in replace)]
        return True

    def merge(self, tree):
        """`a = g1; ...; a = a + g2` -> `...; a = g1 + g2` for adjoints."""
        changed = False
        for block in _blocks(tree.body):
            i = 0
            while i < len(block):
                if self.merge_at(block, i):
                    changed = True
                else:
                    i += 1
        return changed

    def merge_at(self, block, i):
        first = block[i]
        if not (isinstance(first, gast.Assign)
                and first.targets[0].id in self.adjoint_names):
            return False
        name = first.targets[0].id
        reads = set(_names(first.value, gast.Load))
        for j in range(i + 1, len(block)):
            stmt = block[j]
            if name in _names(stmt, gast.Load) + _names(stmt, gast.Store):
                break
            if reads & set(_names(stmt, gast.Store)):
                return False
        else:
            return False
        value = getattr(stmt, "value", None)
        if not (isinstance(stmt, gast.Assign) and stmt.targets[0].id == name
                and isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add)
                and isinstance(value.left, gast.Name) and value.left.id == name
                and name not in _names(value.right, gast.Load)):
            return False
        value.left = first.value
        del block[i]
        return True

    def eliminate(self, tree):
        """Drop assignments whose target is never read (self-reads excluded)."""
        changed = False
        while True:
            loads = collections.Counter()
            for block in _blocks(tree.body):
                for stmt in block:
                    own = stmt.targets[0].id if isinstance(stmt, gast.Assign) else None
                    for name in _names(_shallow(stmt), gast.Load):
                        if name != own:
                            loads[name] += 1
            removed = False
            for block in _blocks(tree.body):
                keep = [s for s in block if not (
                    isinstance(s, gast.Assign) and loads[s.targets[0].id] == 0)]
                if len(keep) != len(block):
                    block[:] = keep
                    removed = True
            if not removed:
                return changed
            changed = True


def _shallow(stmt):
    """`stmt` without its nested blocks (they are visited as blocks)."""
    if isinstance(stmt, (gast.If, gast.While)):
        return stmt.test
    if isinstance(stmt, gast.For):
        return stmt.iter
    return stmt


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
        codegen.is_comment(s) and (i + 1 == len(out)
                                   or codegen.is_comment(out[i + 1])))]

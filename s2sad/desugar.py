"""Desugar: rewrite the fenced tree into the canonical forms `ssa` lowers.

After this pass:
- there is no augmented assignment (`x += y` is `x = x + y`);
- there is no docstring or other constant expression statement;
- every `for` loops over `range(...)`: `for x in X` is
  `for _k in range(len(X)): x = X[_k]`, and `enumerate`, `zip` and unpacking
  targets become index reads the same way, so a row's adjoint lands in X;
- every `return` is the last statement of its block, and every path through
  the function ends in one (`return None` is added where control falls off
  the end). Statements after an `if` that returns on some paths are moved
  into the branches that do not return, so the function has structured
  exits that `ssa` joins with a phi.
"""

import builtins
import copy

import gast

from s2sad.naming import Namer, names_in


def desugar(source):
    """Rewrite `source.tree` in place into canonical form; return it."""
    func = source.tree
    loops = _IndexLoops(source, Namer(names_in(func)))
    body = []
    for stmt in func.body:
        new = loops.visit(_AugAssign().visit(stmt))
        body += new if isinstance(new, list) else [new]
    body = [s for s in body if not _is_constant_expr(s)]
    if not body or not _always_returns(body):
        body.append(gast.Return(value=gast.Constant(value=None, kind=None)))
    func.body = _lift_returns(body)
    return func


class _AugAssign(gast.NodeTransformer):
    def visit_AugAssign(self, node):
        load = copy.deepcopy(node.target)
        load.ctx = gast.Load()
        value = gast.BinOp(left=load, op=node.op, right=node.value)
        new = gast.Assign(targets=[node.target], value=value, type_comment=None)
        return gast.copy_location(new, node)


class _IndexLoops(gast.NodeTransformer):
    """`for target in iterable` -> `for _k in range(n): target = seq[_k]`."""

    def __init__(self, source, namer):
        self.source = source
        self.namer = namer

    def builtin(self, node, name):
        return (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                and self.source.lookup(node.func.id) is getattr(builtins, name))

    def visit_For(self, node):
        self.generic_visit(node)
        if self.builtin(node.iter, "range") and isinstance(node.target,
                                                            gast.Name):
            return node
        before, reads, count, index = [], [], [], None
        if self.builtin(node.iter, "enumerate") and len(node.iter.args) in (1, 2) \
                and isinstance(node.target, gast.Tuple) \
                and len(node.target.elts) == 2:
            counter, target = node.target.elts
            sequences = [(node.iter.args[0], target)]
            start = node.iter.args[1] if len(node.iter.args) == 2 else None
            if start is None and isinstance(counter, gast.Name):
                index = counter.id
            else:
                reads.append((counter, _binop(_load(self.index_name(node)),
                                              start or _const(0))))
        elif self.builtin(node.iter, "zip") and not node.iter.keywords \
                and isinstance(node.target, gast.Tuple) \
                and len(node.target.elts) == len(node.iter.args):
            sequences = list(zip(node.iter.args, node.target.elts))
        else:
            sequences = [(node.iter, node.target)]
        index = index or self.index_name(node)
        for seq, target in sequences:
            if not isinstance(seq, gast.Name):
                name = self.namer.temp()
                before.append(_assign(gast.Name(name, gast.Store(), None, None),
                                      seq, node))
                seq = _load(name)
            count.append(_call("len", [seq]))
            item = gast.Subscript(copy.deepcopy(seq), _load(index), gast.Load())
            reads.append((target, item))
        length = count[0] if len(count) == 1 else _call("min", count)
        body = [_assign(_store(t), v, node) for t, v in reads] + node.body
        loop = gast.For(gast.Name(index, gast.Store(), None, None),
                        _call("range", [length]), body, node.orelse, None)
        gast.copy_location(loop, node)
        return before + [loop]

    def index_name(self, node):
        if not hasattr(node, "_s2sad_index"):
            node._s2sad_index = self.namer.fresh("_k")
        return node._s2sad_index


def _load(name):
    return gast.Name(name, gast.Load(), None, None)


def _store(target):
    target = copy.deepcopy(target)
    for node in gast.walk(target):
        if isinstance(node, gast.Name):
            node.ctx = gast.Store()
    return target


def _const(value):
    return gast.Constant(value, None)


def _binop(left, right):
    return gast.BinOp(left, gast.Add(), right)


def _call(name, args):
    return gast.Call(_load(name), args, [])


def _assign(target, value, where):
    return gast.copy_location(
        gast.Assign(targets=[target], value=value, type_comment=None), where)


def _is_constant_expr(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)


def _contains_return(stmts):
    return any(isinstance(n, gast.Return)
               for s in stmts for n in gast.walk(s))


def _always_returns(stmts):
    for stmt in stmts:
        if isinstance(stmt, gast.Return):
            return True
        if isinstance(stmt, gast.If) and _always_returns(stmt.body) \
                and _always_returns(stmt.orelse):
            return True
    return False


def _lift_returns(stmts):
    """Move what follows a returning `if` into its non-returning branches."""
    out = []
    for i, stmt in enumerate(stmts):
        out.append(stmt)
        if isinstance(stmt, gast.Return):
            return out  # anything after it is unreachable
        if isinstance(stmt, gast.If) and _contains_return([stmt]):
            rest = stmts[i + 1:]
            for field in ("body", "orelse"):
                branch = getattr(stmt, field)
                if not _always_returns(branch):
                    branch = branch + copy.deepcopy(rest)
                setattr(stmt, field, _lift_returns(branch))
            return out
    return out

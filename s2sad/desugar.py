"""Desugar: rewrite the fenced tree into the canonical forms `ssa` lowers.

After this pass:
- there is no augmented assignment (`x += y` is `x = x + y`);
- there is no docstring or other constant expression statement;
- every `return` is the last statement of its block, and every path through
  the function ends in one (`return None` is added where control falls off
  the end). Statements after an `if` that returns on some paths are moved
  into the branches that do not return, so the function has structured
  exits that `ssa` joins with a phi.
"""

import copy

import gast


def desugar(source):
    """Rewrite `source.tree` in place into canonical form; return it."""
    func = source.tree
    body = [_AugAssign().visit(stmt) for stmt in func.body]
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

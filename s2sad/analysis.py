"""Analyses on the SSA form.

`active(func, wrt)`: the SSA names that both depend on a differentiated input
(through differentiable operations) and reach the returned value. Only active
names get adjoints.

`known_scalars(func)`: names statically known to hold a Python number (literal
constants, results of `math` functions and of arithmetic on known scalars), so
the engine can skip unbroadcasting against them.
"""
import operator

from s2sad import ssa
from s2sad.rules import registry


def rule_of(stmt):
    """The registry rule for an SSA assignment (None if there is none)."""
    if stmt.fn is getattr:
        return registry.lookup(registry.attribute(stmt.args[1].value))
    return registry.lookup(stmt.fn)


def _propagates(stmt):
    if stmt.fn is ssa.identity:
        return True
    rule = rule_of(stmt)
    return rule is None or rule.differentiable


def _edges(stmts):
    """(target, [source names]) for every data dependence that carries a derivative."""
    for stmt in ssa.walk(stmts):
        if isinstance(stmt, ssa.Assign):
            if _propagates(stmt):
                yield stmt.target, [a.name for a in stmt.operands()
                                    if isinstance(a, ssa.Var)]
        elif isinstance(stmt, (ssa.If, ssa.For, ssa.While)):
            for phi in stmt.phis:
                yield phi.target, [o.name for o in (phi.left, phi.right)
                                   if isinstance(o, ssa.Var)]


def returned(stmts):
    """The operands of every `return` (after lowering there is exactly one)."""
    return [s.value for s in ssa.walk(stmts) if isinstance(s, ssa.Return)]


def active(func, wrt, outputs):
    """SSA names on a differentiable path from `wrt` to `outputs`."""
    edges = list(_edges(func.body))
    varied = set(wrt)
    changed = True
    while changed:  # loops make this a fixpoint
        changed = False
        for target, sources in edges:
            if target not in varied and any(s in varied for s in sources):
                varied.add(target)
                changed = True
    useful = {o.name for o in outputs if isinstance(o, ssa.Var)}
    changed = True
    while changed:
        changed = False
        for target, sources in reversed(edges):
            if target in useful:
                for s in sources:
                    if s not in useful:
                        useful.add(s)
                        changed = True
    return varied & useful


_SCALAR_OPS = {operator.add, operator.sub, operator.mul, operator.truediv,
               operator.pow, operator.neg, operator.pos, ssa.identity}


def is_scalar(operand, scalars):
    """Is `operand` a Python number (a constant or a name in `scalars`)?"""
    if isinstance(operand, ssa.Const):
        return isinstance(operand.value, (int, float)) and not isinstance(
            operand.value, bool)
    return isinstance(operand, ssa.Var) and operand.name in scalars


def known_scalars(func):
    scalars = set()
    for stmt in ssa.walk(func.body):
        if not isinstance(stmt, ssa.Assign):
            continue
        module = getattr(stmt.fn, "__module__", None)
        if module == "math" or stmt.fn in (float, len, int) or (
                stmt.fn in _SCALAR_OPS
                and all(is_scalar(a, scalars) for a in stmt.args)):
            scalars.add(stmt.target)
    return scalars



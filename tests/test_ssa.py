"""The SSA form: invariants over the corpus, loops with header joins, printing."""

import doctest

import pytest

from s2sad import frontend, ssa
from tests import corpus


def loops(x, n):
    s = 0.0
    i = 0
    for k in range(n):
        s = s + x * k
        i += 1
    while s > 1.0:
        s = s / 2.0
    return s * i


FUNCTIONS = sorted({f for f, _, _ in corpus.CASES.values()} | {loops},
                   key=lambda f: f.__name__)


def definitions(func):
    """Every SSA name the function defines, once per definition."""
    names = list(func.params)
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None:
            names.append(stmt.target)  # (None: a call for its effect)
        elif isinstance(stmt, ssa.For):
            names.append(stmt.target)
        if isinstance(stmt, (ssa.If, ssa.For, ssa.While)):
            names += [phi.target for phi in stmt.phis]
    return names


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_name_is_assigned_once(func):
    names = definitions(ssa.lower(frontend.parse(func)))
    assert len(names) == len(set(names))


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_statements_are_three_address(func):
    lowered = ssa.lower(frontend.parse(func))
    defined = set(definitions(lowered))
    operand_types = (ssa.Var, ssa.Free, ssa.Const, ssa.Undefined)
    for stmt in ssa.walk(lowered.body):
        if isinstance(stmt, ssa.Assign):
            operands = stmt.operands()
        elif isinstance(stmt, ssa.If):
            operands = (stmt.test,) + tuple(
                o for p in stmt.phis for o in (p.left, p.right))
        elif isinstance(stmt, ssa.Return):
            operands = (stmt.value,)
        else:
            operands = tuple(o for p in stmt.phis for o in (p.left, p.right))
        for operand in operands:
            assert isinstance(operand, operand_types), (stmt, operand)
            if isinstance(operand, ssa.Var):
                assert operand.name in defined


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__name__)
def test_exactly_one_return_at_the_end(func):
    lowered = ssa.lower(frontend.parse(func))
    returns = [s for s in ssa.walk(lowered.body) if isinstance(s, ssa.Return)]
    assert len(returns) == 1 and lowered.body[-1] is returns[0]


def test_if_joins_are_explicit_phis():
    text = ssa.to_source(ssa.lower(frontend.parse(corpus.branches)))
    assert "z_3 = phi(z_1, z_2)" in text
    assert "z_4 = phi(z, z_3)" in text


def test_loops_have_header_joins():
    text = ssa.to_source(ssa.lower(frontend.parse(loops)))
    # the target is carried too: after a loop of no iteration, k is as before
    assert "for k in _t1:\n        i_1 = phi(i, i_2)\n        k_1 = phi(None, k)" \
        "\n        s_1 = phi(s, s_2)" in text
    assert "s_3 = phi(s_1, s_4)" in text
    assert "if not _t" in text and "break" in text


def test_module_doctests():
    assert doctest.testmod(ssa).failed == 0

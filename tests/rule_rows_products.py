"""Rows of the registry test for the rules in s2sad/rules/numpy_products.py:
rule key -> [(expression, args, argnums)], merged into SPECIAL_CASES."""

import numpy as np

from s2sad.rules import numpy_products
from tests.rule_inputs import ALL, FLOAT, arr


def pair(expr, shapes):
    """Rows `(expr, [arr(*a), arr(*b)], ALL)` for (a, b) shape pairs; None
    stands for a Python float."""
    return [(expr, [FLOAT if a is None else arr(*a),
                    FLOAT if b is None else arr(*b)], ALL)
            for a, b in shapes]


ROWS = {
    np.vdot: pair("OP(x0, x1)", [
        ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (6,)), (None, None),
        ((), ()), ((1,), (1,))]),
    np.outer: pair("OP(x0, x1)", [
        ((3,), (4,)), ((2, 3), (2,)), ((2,), (2, 2)), (None, (3,)),
        ((3,), None), ((), ())]),
    np.inner: pair("OP(x0, x1)", [
        ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 3), (4, 3)),
        ((2, 2, 3), (4, 3)), ((2, 3), (2, 4, 3)), (None, (2, 3)),
        ((3,), None), ((), (3,)), ((), ())]),
    np.tensordot: pair("OP(x0, x1)", [((2, 3, 4), (3, 4, 2))])
    + pair("OP(x0, x1)", [((2, 3), (2, 3))])  # everything contracted
    + pair("OP(x0, x1, 1)", [((2, 3), (3, 4)), ((3,), (3,))])
    + pair("OP(x0, x1, axes=0)", [((2,), (3,)), ((2, 3), (2,)),
                                  (None, (2, 3)), ((), (3,))])
    + pair("OP(x0, x1, (1, 0))", [((2, 3), (3, 4))])
    + pair("OP(x0, x1, [[1], [0]])", [((2, 3), (3, 4))])
    + pair("OP(x0, x1, axes=((0,), (1,)))", [((3, 2), (4, 3))])
    + pair("OP(x0, x1, ([1, 0], [0, 2]))", [((2, 3), (3, 4, 2))])
    + pair("OP(x0, x1, ([-1], [0]))", [((2, 2, 3), (3, 2))])
    + pair("OP(x0, x1, axes=([2, 0], [0, 1]))", [((3, 4, 2), (2, 3, 2))])
    + pair("OP(x0, x1, ([0, 1], [1, 0]))", [((2, 3), (3, 2))]),
    np.kron: pair("OP(x0, x1)", [
        ((2,), (3,)), ((2, 2), (3, 2)), ((2, 3), (3,)), ((3,), (2, 2)),
        ((2, 1, 2), (2, 2)), (None, (2, 3)), ((2, 3), None), ((), ()),
        ((1, 2), (2, 1))]),
    np.cross: pair("OP(x0, x1)", [
        ((3,), (3,)), ((4, 3), (4, 3)), ((3,), (4, 3)), ((4, 3), (3,)),
        ((2, 1, 3), (4, 3)), ((1, 3), (2, 3))])
    + pair("OP(x0, x1, axis=0)", [((3, 4), (3, 4)), ((3,), (3, 2))])
    + pair("OP(x0, x1, axisa=0)", [((3, 4), (4, 3)), ((3,), (5, 3)),
                                   ((3, 2), (5, 1, 3))])
    + pair("OP(x0, x1, axisc=0)", [((4, 3), (4, 3))])
    + pair("OP(x0, x1, 0, 1, 0)", [((3, 4), (4, 3))])
    + pair("OP(x0, x1, axisa=1, axisb=-2, axisc=1)", [((2, 3), (3, 2))])
    + pair("np.sum(OP(x0, x1) * x0)", [((3,), (3,))]),  # a x b _|_ a
}

# ---- np.einsum ----


def einsum(subscripts, *shapes, extra=""):
    """A row of np.einsum(subscripts, x0, ...); None is a Python float."""
    args = [FLOAT if s is None else arr(*s) for s in shapes]
    names = ", ".join(f"x{i}" for i in range(len(shapes)))
    return (f"OP({subscripts!r}, {names}{extra})", args, ALL)


ROWS[np.einsum] = [
    # matrix products, explicit and implicit
    einsum("ij,jk->ik", (2, 3), (3, 4)),
    einsum("ij,jk", (2, 3), (3, 4)),
    ("OP('ij,jk->ik', np.ones((2, 3)), x0)", [arr(3, 4)], ALL),  # inactive
    einsum("ij,jk->ki", (2, 3), (3, 4), extra=", optimize=True"),
    einsum("ij,j->i", (2, 3), (3,)),
    einsum("bij,bjk->bik", (2, 2, 3), (2, 3, 4)),
    einsum("ijk,k->ij", (2, 3, 4), (4,)),
    einsum("ijk,jk", (2, 3, 4), (3, 4)),
    einsum("ij,kj->", (2, 3), (4, 3)),
    # inner, outer and elementwise products
    einsum("i,i", (3,), (3,)),
    einsum("i,i->", (3,), (3,)),
    einsum("i,j->ij", (2,), (3,)),
    einsum("i,j", (2,), (3,)),
    einsum("ij,ij->ij", (2, 3), (2, 3)),
    einsum("ij,ij", (2, 3), (2, 3)),
    einsum(",ij->ij", (), (2, 3)),
    einsum("Ab,bA", (2, 3), (3, 2)),
    einsum("Ba,bA", (2, 3), (4, 5)),
    # one operand: transposes, sums, diagonals and traces
    einsum("ij->ji", (2, 3)),
    einsum("ba", (2, 3)),
    einsum("ij", (2, 3)),
    einsum("ij->", (2, 3)),
    einsum("ij->j", (2, 3)),
    einsum("ijk->kij", (2, 3, 4)),
    einsum("ii->i", (3, 3)),
    einsum("ii", (3, 3)),
    einsum("ii->", (3, 3)),
    einsum("iii->i", (2, 2, 2)),
    einsum("iij->j", (2, 2, 3)),
    einsum("iji->ij", (2, 3, 2)),
    einsum("ijj->ij", (2, 3, 3)),
    einsum("i->", (3,)),
    einsum("", ()),
    einsum(",", None, None),
    # repeated indices with other operands
    einsum("ii,i->i", (3, 3), (3,)),
    einsum("ii,jj", (3, 3), (2, 2)),
    einsum("ij,jj->i", (2, 3), (3, 3)),
    # the same operand twice
    ("OP('ij,jk->ik', x0, x0)", [arr(3, 3)], ALL),
    ("OP('ij,ji', x0, x0)", [arr(3, 3)], ALL),
    ("OP('i,i,i', x0, x0, x0)", [arr(3)], ALL),
    # three operands
    einsum("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    einsum("ij,jk,kl", (2, 3), (3, 4), (4, 2)),
    einsum("ij,jk,ki->", (2, 3), (3, 4), (4, 2)),
    ("OP('ij,jk,kl->il', np.ones((2, 3)), x0, np.eye(4, 2))", [arr(3, 4)],
     ALL),
    einsum("i,i,i", (3,), (3,), (3,)),
    einsum("i,j,k->ijk", (2,), (3,), (2,)),
    einsum("bi,bij,bj->b", (2, 3), (2, 3, 4), (2, 4)),
    einsum("ii,ij,j->", (3, 3), (3, 2), (2,)),
    einsum(",i,i->i", None, (3,), (3,)),
    # size-1 axes that NumPy broadcasts
    einsum("ij,ij->ij", (1, 3), (2, 3)),
    einsum("i,i", (1,), (3,)),
    einsum("ij,jk->ik", (2, 1), (3, 4)),
    # ellipsis broadcasting
    einsum("...ij,...jk->...ik", (2, 2, 3), (3, 4)),
    einsum("...ij,...jk->...ik", (2, 1, 2, 3), (4, 3, 2)),
    einsum("...ij,...jk", (2, 2, 3), (2, 3, 4)),
    einsum("...ii->...i", (2, 3, 3)),
    einsum("...ii", (2, 3, 3)),
    einsum("i...->...", (2, 3, 4)),
    einsum("i...,j...", (2, 3), (4, 1)),
    einsum("...,...", None, (3,)),
    einsum("...,...->...", (2, 1), (3,)),
    einsum("...i,...i->...", (2, 3), (3,)),
    einsum("...", (2, 3)),
    einsum("...j,j...,...->...", (2, 3), (3, 2), (2,)),
    einsum(" ij , jk -> ik ", (2, 3), (3, 4)),
    # any number of operands
    einsum("ij,jk,kl,lm->im", (2, 3), (3, 4), (4, 2), (2, 2)),
    einsum("i,i,i,i,i", (3,), (3,), (3,), (3,), (3,)),
    einsum("ab,bc,cd,de,ef,f->a", (2, 2), (2, 3), (3, 2), (2, 2), (2, 3),
           (3,)),
    ("OP('i,i,i,i', np.ones(3), x0, np.arange(3.0), x1)", [arr(3), arr(3)],
     ALL),
    # the interleaved form: operand, sublist, ..., [output sublist]
    ("OP(x0, [0, 1], x1, [1, 2], [0, 2])", [arr(2, 3), arr(3, 4)], ALL),
    ("OP(x0, [0, 1], x1, [1, 2])", [arr(2, 3), arr(3, 4)], ALL),
    ("OP(x0, [1, 0])", [arr(2, 3)], ALL),
    ("OP(x0, [0, 0], [0])", [arr(3, 3)], ALL),
    ("OP(x0, [Ellipsis, 0, 1], x1, [Ellipsis, 1, 2], [Ellipsis, 0, 2])",
     [arr(2, 2, 3), arr(3, 4)], ALL),
    ("OP(x0, [0, 1, 2], x1, [3, 1, 0], x2, [3, 3, 0], [3, 2, 0])",
     [arr(3, 4, 4), arr(4, 4, 3), arr(4, 4, 3)], ALL),
    ("OP(x0, [0], x1, [0], x2, [1], x3, [1], [])",
     [arr(3), arr(3), arr(2), arr(2)], ALL),
    ("OP(np.ones((2, 3)), [0, 1], x0, [1, 2], [2, 0])", [arr(3, 4)], ALL),
]

# ---- the differentiable helpers ----

ROWS.update({
    # (g shaped like np.tensordot(a, b, axes), a, b): linear in g and in
    # the other operand; the operand whose adjoint it is gives a shape
    numpy_products.tensordot_adjoint_a: [
        ("OP(x0, x1, x2, 1)", [arr(2, 4), arr(2, 3), arr(3, 4)], (0, 2)),
        ("OP(x0, x1, x2)", [arr(2, 2), arr(2, 3, 4), arr(3, 4, 2)], (0, 2)),
        ("OP(x0, x1, x2, ([1, 0], [0, 2]))",
         [arr(4), arr(2, 3), arr(3, 4, 2)], (0, 2)),
        ("OP(x0, x1, x2, ([0, 1], [1, 0]))",
         [FLOAT, arr(2, 3), arr(3, 2)], (0, 2)),
        ("OP(x0, x1, x2, 0)", [arr(2, 3), arr(2), arr(3)], (0, 2)),
        ("OP(x0, x1, x2, 0)", [arr(3), FLOAT, arr(3)], (0, 2)),
    ],
    numpy_products.tensordot_adjoint_b: [
        ("OP(x0, x1, x2, 1)", [arr(2, 4), arr(2, 3), arr(3, 4)], (0, 1)),
        ("OP(x0, x1, x2)", [arr(2, 2), arr(2, 3, 4), arr(3, 4, 2)], (0, 1)),
        ("OP(x0, x1, x2, axes=((0,), (1,)))",
         [arr(2, 4), arr(3, 2), arr(4, 3)], (0, 1)),
        ("OP(x0, x1, x2, ([0, 1], [1, 0]))",
         [FLOAT, arr(2, 3), arr(3, 2)], (0, 1)),
        ("OP(x0, x1, x2, 0)", [arr(2, 3), arr(2), arr(3)], (0, 1)),
        ("OP(x0, x1, x2, 0)", [arr(3), arr(3), FLOAT], (0, 1)),
    ],
    # a spec is explicit einsum subscripts; adjoint specs repeat output
    # indices (a diagonal) or have ones no operand has, sized after ';'
    numpy_products.einsum_product: [
        ("OP('ij,jk->ik', x0, x1)", [arr(2, 3), arr(3, 4)], ALL),
        ("OP('#,ij,jk->ik', 'ij,jk', x0, x1)", [arr(2, 3), arr(3, 4)], (1,)),
        ("OP('ij,#,jk,#,#->ik', x0, [0, 1], x1, [1, 2], [0, 2])",
         [arr(2, 3), arr(3, 4)], ALL),
        ("OP('ij,jk,kl,lm->mi', x0, x1, x2, x3)",
         [arr(2, 3), arr(3, 4), arr(4, 2), arr(2, 2)], ALL),
        ("OP('i,i,i,i,->ii', x0, x1, x2, x3, x4)",
         [arr(3), arr(3), arr(3), arr(3), FLOAT], ALL),
        ("OP('ii->i', x0)", [arr(3, 3)], ALL),
        ("OP('i->ii', x0)", [arr(3)], ALL),
        ("OP('i->iii', x0)", [arr(2)], ALL),
        ("OP('->ii;i=3', x0)", [FLOAT], ALL),
        ("OP('->ij;i=2,j=3', x0)", [arr()], ALL),
        ("OP('j->iij;i=2', x0)", [arr(3)], ALL),
        ("OP('ab->iab;i=2', x0)", [arr(3, 4)], ALL),
        ("OP('i,i->ii', x0, x1)", [arr(3), arr(3)], ALL),
        ("OP(',kl->ij;i=2,j=3', x0, x1)", [FLOAT, arr(1, 4)], ALL),
        ("OP('ij,ij->aj;a=1', x0, x1)", [arr(2, 3), arr(2, 3)], ALL),
        ("OP('abik,bjk->acij;c=1', x0, x1)", [arr(2, 4, 2, 2), arr(4, 3, 2)],
         ALL),
        ("OP('ij,il,kl->jk', x0, x1, x2)", [arr(2, 3), arr(2, 2), arr(4, 2)],
         ALL),
        ("OP('ij,jk,->ki', x0, x1, x2)", [arr(2, 3), arr(3, 4), FLOAT], ALL),
        ("OP('i,,i->i', x0, x1, x2)", [arr(3), arr(), arr(3)], ALL),
    ],
})

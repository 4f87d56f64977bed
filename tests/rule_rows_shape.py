"""Rows of the registry test for the rules in s2sad/rules/numpy_shape.py:
rule key -> [(expression, args, argnums)], merged into SPECIAL_CASES."""

import numpy as np

from s2sad import ssa
from s2sad.rules import numpy_shape as shape
from tests.rule_inputs import ALL, FLOAT, arr

ROWS = {
    np.reshape: [
        ("OP(x0, (3, 2))", [arr(2, 3)], ALL),
        ("OP(x0, (2, -1))", [arr(2, 3, 4)], ALL),
        ("OP(x0, (6,), order='F')", [arr(2, 3)], ALL),
        ("OP(x0, shape=(3, 1, 2))", [arr(2, 3)], ALL),
        ("OP(x0, ())", [arr(1)], ALL),
    ],
    np.ravel: [
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(2, 3, 4)], ALL),
        ("OP(x0, order='F')", [arr(2, 3)], ALL),
        ("OP(x0)", [arr()], ALL),
    ],
    np.transpose: [
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(2, 3, 4)], ALL),
        ("OP(x0, (1, 2, 0))", [arr(2, 3, 4)], ALL),
        ("OP(x0, axes=(2, 0, 1))", [arr(2, 3, 4)], ALL),
        ("OP(x0, (0, -1, 1))", [arr(2, 3, 4)], ALL),
        ("OP(x0)", [arr(3)], ALL),
    ],
    np.swapaxes: [
        ("OP(x0, 0, 1)", [arr(2, 3)], ALL),
        ("OP(x0, 0, 2)", [arr(2, 3, 4)], ALL),
        ("OP(x0, -1, 1)", [arr(2, 3, 4)], ALL),
    ],
    np.moveaxis: [
        ("OP(x0, 0, -1)", [arr(2, 3, 4)], ALL),
        ("OP(x0, -1, 0)", [arr(2, 3, 4)], ALL),
        ("OP(x0, (0, 1), (2, 0))", [arr(2, 3, 4)], ALL),
        ("OP(x0, 0, 1)", [arr(2, 3)], ALL),
    ],
    np.expand_dims: [
        ("OP(x0, 0)", [arr(3)], ALL),
        ("OP(x0, -1)", [arr(2, 3)], ALL),
        ("OP(x0, (0, 2))", [arr(2, 3)], ALL),
        ("OP(x0, axis=1)", [arr(2, 3)], ALL),
        ("OP(x0, 0)", [arr()], ALL),
    ],
    np.squeeze: [
        ("OP(np.expand_dims(x0, 0))", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(1, 3)], ALL),
        ("OP(x0)", [arr(2, 1, 3, 1)], ALL),
        ("OP(x0, 1)", [arr(2, 1, 3, 1)], ALL),
        ("OP(x0, axis=(1, 3))", [arr(2, 1, 3, 1)], ALL),
        ("OP(x0, axis=-1)", [arr(3, 1)], ALL),
    ],
    np.broadcast_to: [
        ("OP(x0, (2, 3))", [arr(3)], ALL),
        ("OP(x0, (2, 3))", [arr(2, 1)], ALL),
        ("OP(x0, (4, 2, 3))", [arr(2, 3)], ALL),
        ("OP(x0, (2, 3))", [arr()], ALL),
        ("OP(x0, (3,))", [arr(3)], ALL),
    ],
    np.tile: [
        ("OP(x0, 2)", [arr(3)], ALL),
        ("OP(x0, (2, 1))", [arr(3)], ALL),
        ("OP(x0, (2, 3))", [arr(2, 3)], ALL),
        ("OP(x0, 2)", [arr(2, 3)], ALL),
        ("OP(x0, (2, 1, 2))", [arr(2, 3)], ALL),
        ("OP(x0, (1, 2, 1, 1))", [arr(2, 3, 4)], ALL),
    ],
    np.repeat: [
        ("OP(x0, 2)", [arr(3)], ALL),
        ("OP(x0, 2)", [arr(2, 3)], ALL),
        ("OP(x0, 2, axis=None)", [arr(2, 3)], ALL),
        ("OP(x0, 3, axis=0)", [arr(2, 3)], ALL),
        ("OP(x0, 2, 1)", [arr(2, 3)], ALL),
        ("OP(x0, 2, axis=-1)", [arr(2, 3, 4)], ALL),
        ("OP(x0, (1, 0, 3), axis=1)", [arr(2, 3, 4)], ALL),
        ("OP(x0, (2, 1, 3))", [arr(3)], ALL),
    ],
    np.flip: [
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0, 0)", [arr(2, 3)], ALL),
        ("OP(x0, axis=-1)", [arr(2, 3, 4)], ALL),
        ("OP(x0, (0, 2))", [arr(2, 3, 4)], ALL),
    ],
    np.fliplr: [
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(2, 3, 4)], ALL),
    ],
    np.flipud: [
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(2, 3, 4)], ALL),
    ],
    np.roll: [
        ("OP(x0, 1)", [arr(3)], ALL),
        ("OP(x0, -2)", [arr(2, 3)], ALL),
        ("OP(x0, 1, axis=0)", [arr(2, 3)], ALL),
        ("OP(x0, 2, 1)", [arr(2, 3)], ALL),
        ("OP(x0, (1, -1), (0, 2))", [arr(2, 3, 4)], ALL),
        ("OP(x0, shift=5, axis=-1)", [arr(2, 3, 4)], ALL),
    ],
    np.rot90: [
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0, 2)", [arr(2, 3)], ALL),
        ("OP(x0, k=3)", [arr(2, 3)], ALL),
        ("OP(x0, -1)", [arr(2, 3)], ALL),
        ("OP(x0, 1, (1, 2))", [arr(2, 3, 4)], ALL),
        ("OP(x0, k=1, axes=(2, 0))", [arr(2, 3, 4)], ALL),
    ],
    np.diag: [
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0, 1)", [arr(3)], ALL),
        ("OP(x0, k=-2)", [arr(3)], ALL),
        ("OP(x0)", [arr(3, 3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(3, 2)], ALL),
        ("OP(x0, 1)", [arr(2, 3)], ALL),
        ("OP(x0, -1)", [arr(2, 3)], ALL),
        ("OP(x0, k=2)", [arr(3, 4)], ALL),
        ("OP(x0, -1)", [arr(4, 3)], ALL),
    ],
    np.diagonal: [
        ("OP(x0)", [arr(3, 3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0, 1)", [arr(2, 3)], ALL),
        ("OP(x0, -1)", [arr(3, 2)], ALL),
        ("OP(x0)", [arr(2, 3, 4)], ALL),
        ("OP(x0, 1, 1, 2)", [arr(2, 3, 4)], ALL),
        ("OP(x0, offset=-1, axis1=2, axis2=0)", [arr(2, 3, 4)], ALL),
        ("OP(x0, axis1=-1, axis2=-2)", [arr(2, 3, 4)], ALL),
    ],
    np.tril: [
        ("OP(x0)", [arr(3, 3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0, 1)", [arr(2, 3)], ALL),
        ("OP(x0, k=-1)", [arr(2, 3, 4)], ALL),
        ("OP(x0)", [arr(3)], ALL),
    ],
    np.triu: [
        ("OP(x0)", [arr(3, 3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0, 1)", [arr(2, 3)], ALL),
        ("OP(x0, k=-1)", [arr(2, 3, 4)], ALL),
        ("OP(x0)", [arr(3)], ALL),
    ],
    np.atleast_1d: [
        ("OP(x0)", [arr()], ALL),
        ("OP(x0)", [FLOAT], ALL),
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
    ],
    np.atleast_2d: [
        ("OP(x0)", [arr()], ALL),
        ("OP(x0)", [FLOAT], ALL),
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(2, 3, 4)], ALL),
    ],
    np.pad: [
        ("OP(x0, 1)", [arr(3)], ALL),
        ("OP(x0, (1, 2))", [arr(2, 3)], ALL),
        ("OP(x0, ((0, 1), (2, 0)))", [arr(2, 3)], ALL),
        ("OP(x0, ((1, 0), (0, 0), (2, 1)))", [arr(2, 3, 4)], ALL),
        ("OP(x0, 2, mode='constant')", [arr(2, 3)], ALL),
        ("OP(x0, 1, 'constant', constant_values=0)", [arr(3)], ALL),
        ("OP(x0, pad_width=((1, 1), (0, 2)), constant_values=0.0)",
         [arr(2, 3)], ALL),
        ("OP(x0, 1, constant_values=x1)", [arr(2, 3), FLOAT], ALL),
        ("OP(x0, ((1, 0), (0, 2)), 'constant', constant_values=x1)",
         [arr(2, 3), arr()], ALL),
        ("OP(x0, 1, constant_values=x1)", [arr(3), FLOAT], (1,)),
    ],
}

# ---- joining and splitting: list arguments ----

ROWS.update({
    np.concatenate: [
        ("OP([x0, x1])", [arr(3), arr(2)], ALL),
        ("OP([x0, x1], axis=1)", [arr(2, 3), arr(2, 1)], ALL),
        ("OP((x0, x1, x0), 0)", [arr(2, 3), arr(1, 3)], ALL),
        ("OP([x0, np.ones(2)])", [arr(3)], ALL),
        ("OP([x0, x1], axis=None)", [arr(2, 3), arr(4)], ALL),
        ("OP([x0, 2.0 * x0], -1)", [arr(2, 2)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
    ],
    np.hstack: [
        ("OP([x0, x1])", [arr(3), arr(2)], ALL),
        ("OP((x0, x1))", [arr(2, 3), arr(2, 1)], ALL),
        ("OP([x0, x1])", [arr(), arr(2)], ALL),
    ],
    np.vstack: [
        ("OP([x0, x1])", [arr(3), arr(3)], ALL),
        ("OP([x0, x1])", [arr(2, 3), arr(3)], ALL),
        ("OP((x0, x1))", [arr(2, 3), arr(1, 3)], ALL),
    ],
    np.dstack: [
        ("OP([x0, x1])", [arr(2, 3), arr(2, 3)], ALL),
        ("OP([x0, x1])", [arr(3), arr(1, 3, 2)], ALL),
    ],
    np.column_stack: [
        ("OP([x0, x1])", [arr(3), arr(3)], ALL),
        ("OP((x0, x1))", [arr(3, 2), arr(3)], ALL),
    ],
    np.stack: [
        ("OP([x0, x1])", [arr(3), arr(3)], ALL),
        ("OP([x0, x1], axis=1)", [arr(2, 3), arr(2, 3)], ALL),
        ("OP((x0, x1, x0), -1)", [arr(2), arr(2)], ALL),
        ("OP([x0, x1])", [arr(), FLOAT], ALL),
        ("OP(x0, axis=1)", [arr(2, 3)], ALL),
    ],
    np.array: [
        ("OP([x0, x1])", [FLOAT, FLOAT], ALL),
        ("OP([x0, 1.0, x1 * x0])", [FLOAT, FLOAT], ALL),
        ("OP([[x0, x1], [x1, x0]])", [FLOAT, FLOAT], ALL),
        ("OP([x0, x1])", [arr(3), arr(3)], ALL),
        ("OP((x0, x1), dtype=float)", [arr(2, 2), arr(2, 2)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0, ndmin=2)", [arr(3)], ALL),
    ],
    np.asarray: [
        ("OP([x0, x1])", [FLOAT, arr()], ALL),
        ("OP(x0)", [arr(3)], ALL),
    ],
    np.split: [
        ("OP(x0, 2)[1]", [arr(4)], ALL),
        ("OP(x0, [1, 3])[1] * OP(x0, [1, 3])[2][0]", [arr(5)], ALL),
        ("np.stack(OP(x0, 3, axis=1))", [arr(2, 3)], ALL),
        ("OP(x0, (1,), -1)[0]", [arr(2, 3)], ALL),
    ],
    np.array_split: [
        ("np.concatenate(OP(x0, 3)[::2])", [arr(5)], ALL),
        ("OP(x0, 2, axis=1)[1]", [arr(2, 5)], ALL),
    ],
    np.hsplit: [
        ("OP(x0, 2)[1]", [arr(4)], ALL),
        ("OP(x0, [1])[1]", [arr(2, 3)], ALL),
    ],
    np.vsplit: [
        ("OP(x0, 2)[0]", [arr(4, 3)], ALL),
    ],
    np.dsplit: [
        ("OP(x0, [1])[1]", [arr(2, 2, 3)], ALL),
    ],
})

# ---- differences, sorting, selection, construction, casts ----

ORDER = np.array([[2, 0, 1], [1, 1, 0]])
TAKEN = np.array([3, 0, 3, -1])

ROWS.update({
    np.atleast_3d: [
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0)", [FLOAT], ALL),
    ],
    np.rollaxis: [
        ("OP(x0, 2)", [arr(2, 3, 4)], ALL),
        ("OP(x0, 0, 3)", [arr(2, 3, 4)], ALL),
        ("OP(x0, -1, 1)", [arr(2, 3, 4)], ALL),
        ("OP(x0, 1)", [arr(2, 3)], ALL),
    ],
    np.diff: [
        ("OP(x0)", [arr(5)], ALL),
        ("OP(x0, 2)", [arr(5)], ALL),
        ("OP(x0, axis=0)", [arr(3, 4)], ALL),
        ("OP(x0, 3, -1)", [arr(2, 5)], ALL),
        ("OP(x0, prepend=0.0)", [arr(4)], ALL),
        ("OP(x0, 2, 0, append=np.ones((2, 3)))", [arr(3, 3)], ALL),
        ("OP(x0, prepend=np.ones(2), append=1.0)", [arr(4)], ALL),
        ("OP(x0, prepend=x1, append=x2)", [arr(4), FLOAT, arr(2)], ALL),
        ("OP(x0, 2, 0, prepend=x1)", [arr(3, 2), arr(1, 2)], ALL),
        ("OP(x0, axis=1, append=x1)", [arr(3, 2), arr(3, 2)], ALL),
    ],
    np.sort: [
        ("OP(x0)", [arr(5)], ALL),
        ("OP(x0, axis=0)", [arr(3, 4)], ALL),
        ("OP(x0, None)", [arr(2, 3)], ALL),
        ("OP(x0, kind='stable')", [arr(2, 3)], ALL),
    ],
    np.partition: [
        ("OP(x0, 2)", [arr(5)], ALL),
        ("OP(x0, 1, axis=0)", [arr(3, 4)], ALL),
        ("OP(x0, (0, 2), None)", [arr(2, 3)], ALL),
    ],
    np.take_along_axis: [
        ("OP(x0, x1, 1)", [arr(2, 3), ORDER], (0,)),
        ("OP(x0, x1, 0)", [arr(3, 3), ORDER], (0,)),
        ("OP(x0, x1, None)", [arr(2, 3), TAKEN], (0,)),
    ],
    np.take: [
        ("OP(x0, x1)", [arr(5), TAKEN], (0,)),
        ("OP(x0, x1)", [arr(2, 3), TAKEN], (0,)),
        ("OP(x0, x1, axis=1)", [arr(2, 4), TAKEN], (0,)),
        ("OP(x0, 1, 0)", [arr(3, 2)], ALL),
        ("OP(x0, x1, -1)", [arr(2, 3), ORDER], (0,)),
        ("OP(x0, [0, 5, -7], mode='wrap')", [arr(4)], ALL),
        ("OP(x0, [0, 5, -7], mode='clip')", [arr(4)], ALL),
        ("OP(x0, [[4, -1], [0, 3]], 1, mode='wrap')", [arr(2, 3)], ALL),
        ("OP(x0, [4, -1, 1], 0, None, 'clip')", [arr(3, 2)], ALL),
        ("OP(x0, [0, -1], mode='raise')", [arr(3)], ALL),
    ],
    np.full: [
        ("OP((2, 3), x0)", [FLOAT], ALL),
        ("OP((2, 3), x0)", [arr(3)], ALL),
        ("OP(3, x0, dtype=float)", [arr()], ALL),
    ],
    np.full_like: [
        ("OP(np.ones((2, 3)), x0)", [FLOAT], ALL),
        ("OP(x1, x0)", [arr(2, 1), arr(2, 3)], (0,)),
    ],
    np.linspace: [
        ("OP(x0, x1, 5)", [FLOAT, FLOAT], ALL),
        ("OP(x0, x1, 4, endpoint=False)", [FLOAT, FLOAT], ALL),
        ("OP(x0, x1, 3)", [arr(2), arr(2)], ALL),
        ("OP(x0, x1, 3, axis=1)", [arr(2), FLOAT], ALL),
        ("OP(x0, 2.0, 6)", [arr()], ALL),
    ],
    # (values start + k * step; the length, piecewise constant, is kept
    # away from its jumps)
    np.arange: [
        ("OP(x0, x0 + 1.0, 0.25)", [0.3], ALL),
        ("OP(0.0, 1.05, x0)", [0.1], ALL),
        ("OP(x0, 2.9, x1)", [0.35, 0.4], ALL),
        ("OP(3.5, step=x0) * x0", [0.45], ALL),
        ("OP(x0) * x0", [2.6], ALL),
    ],
    np.heaviside: [
        ("OP(x1, x0) * x1", [FLOAT, np.array([-1.0, 0.0, 2.0])], (0,)),
        ("OP(np.array([0.0, 1.0]), x0)", [arr(2)], ALL),
    ],
    np.nan_to_num: [
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0 / x1)", [arr(3), arr(3)], ALL),
        ("OP(x0, nan=1.0)", [FLOAT], ALL),
        ("OP(x0 + x1, nan=x2, posinf=x3, neginf=x2 - x3)",
         [np.array([np.nan, 1.0, np.inf, -np.inf]), arr(4), FLOAT, FLOAT],
         (1, 2, 3)),
        ("OP(x0 + x1, True, x2)", [np.array([np.nan, 2.0]), arr(2), FLOAT],
         (1, 2)),
    ],
    ssa.method("astype"): [
        ("x0.astype(float)", [arr(2, 3)], ALL),
    ],
})
# A cast to a lower precision cannot be checked by central differences
# (a step of 1e-6 is a few float32 ulps): these rows run its adjoint and
# tangent; tests/test_numpy.py checks its numbers exactly.
for _cast in (np.float32, np.float16):
    ROWS[_cast] = [("np.float64(OP(x0)) * 0.0 + x0", [FLOAT], ALL),
                   ("OP(x0).astype(float) * 0.0 + x0", [arr(2, 3)], ALL)]
ROWS[np.longdouble] = [("OP(x0) * x0", [FLOAT], ALL),
                       ("OP(x0 * x1)", [arr(3), arr(3)], ALL)]
ROWS[np.copy] = [
    ("OP(x0)", [arr(2, 3)], ALL),
    ("OP(x0) * x0", [FLOAT], ALL),
]
if hasattr(np, "row_stack"):  # NumPy's deprecated name of np.vstack
    ROWS[np.row_stack] = ROWS[np.vstack]

ROWS.update({
    np.append: [
        ("OP(x0, x1)", [arr(3), FLOAT], ALL),
        ("OP(x0, x1)", [arr(2, 2), arr(3)], ALL),
        ("OP(x0, x1, axis=0)", [arr(2, 3), arr(1, 3)], ALL),
        ("OP(x0, x1, -1)", [arr(2, 3), arr(2, 1)], ALL),
        ("OP([x0, x1], x1)", [FLOAT, FLOAT], ALL),
    ],
    np.gradient: [
        ("OP(x0)", [arr(5)], ALL),
        ("OP(x0, edge_order=2)", [arr(4)], ALL),
        ("OP(x0, axis=1)", [arr(3, 4)], ALL),
        ("OP(x0, axis=-1, edge_order=2)", [arr(2, 3)], ALL),
        ("np.stack(OP(x0))", [arr(3, 4)], ALL),
        ("np.stack(OP(x0, axis=(0, -1)))", [arr(3, 2, 4)], ALL),
    ],
    shape._gradient_adjoint: [
        ("OP(x0, x1)", [arr(5), arr(5)], (0,)),
        ("OP(x0, x1, 1, 2)", [arr(3, 4), arr(3, 4)], (0,)),
        ("OP((x0, x1), x2)", [arr(3, 4), arr(3, 4), arr(3, 4)], (0, 1)),
    ],
    shape._gradient_pieces: [
        ("OP(x0, x1)", [arr(5), arr(5)], (0,)),
        ("OP(x0, x1, 0, 2)", [arr(3, 4), arr(3, 4)], (0,)),
        ("OP(x0, x1)[1]", [arr(3, 4), arr(3, 4)], (0,)),
    ],
})

_numpy_rules = __import__("s2sad.rules.numpy", fromlist=["_select_masks"])
_MASKS = "[np.array([True, False, True]), np.array([False, True, False])]"
ROWS.update({
    np.select: [
        ("OP([x0 > 0, x1 > 0.5], [x0, x1], x0 * x1)",
         [arr(2, 3), arr(2, 3)], ALL),
        ("OP([x0 > 0], [x1], 2.0)", [arr(3), arr(2, 3)], ALL),
        ("OP([x0 > 0, x0 < 0.5], [x0, np.sin(x0)], default=x1)",
         [arr(4), FLOAT], ALL),
    ],
    _numpy_rules._select_adjoint: [
        (f"OP(x0, {_MASKS}, [x1, x2])[0]", [arr(3), arr(3), FLOAT], (0,)),
        (f"OP(x0, {_MASKS}, [x1, x2])[1]", [arr(3), arr(3), FLOAT], (0,)),
    ],
    _numpy_rules._select_apply: [
        (f"OP([x0, x1], {_MASKS}, [x0, x1])", [arr(3), FLOAT], ALL),
    ],
})

ROWS.update({
    shape._index_trick_apply: [
        ("OP((x0, x1, x0), np.r_, (x0, x1, slice(1, 3)))",
         [arr(2), FLOAT], ALL),
        ("OP((x0, x1), np.c_, (x0, x1))", [arr(3), arr(3, 2)], ALL),
        ("OP(x0, np.r_, x0)", [arr(2, 3)], ALL),
    ],
    shape._index_trick_adjoint: [
        ("OP(x0, np.r_, (x1, x2, slice(1, 3)))[0]",
         [arr(5), arr(2), FLOAT], (0,)),
        ("OP(x0, np.r_, (x1, x2, slice(1, 3)))[1]",
         [arr(5), arr(2), FLOAT], (0,)),
        ("OP(x0, np.c_, (x1, x2))[1]", [arr(3, 3), arr(3), arr(3, 2)], (0,)),
        ("OP(x0, np.r_, x1)", [arr(2, 3), arr(2, 3)], (0,)),
    ],
})

# convolution, interpolation, polynomials, integration (rules/numpy.py)
_XP = "np.array([-1.0, -0.2, 0.3, 1.1])"
ROWS.update({
    np.convolve: [
        ("OP(x0, x1)", [arr(5), arr(3)], ALL),
        ("OP(x0, x1, 'same')", [arr(2), arr(5)], ALL),
        ("OP(x0, x1, mode='same')", [arr(6), arr(3)], ALL),
        ("OP(x0, x1, 'valid')", [arr(3), arr(6)], ALL),
    ],
    np.correlate: [
        ("OP(x0, x1)", [arr(5), arr(3)], ALL),
        ("OP(x0, x1, 'full')", [arr(3), arr(4)], ALL),
        ("OP(x0, x1, 'same')", [arr(2), arr(7)], ALL),
        ("OP(x0, x1, mode='same')", [arr(6), arr(4)], ALL),
    ],
    np.interp: [
        (f"OP(x0, {_XP}, x1)", [arr(5), arr(4)], ALL),
        (f"OP(x0, {_XP}, x1)", [FLOAT, arr(4)], ALL),
        (f"OP(2.0 * x0, {_XP}, x1, left=0.5, right=-1.0)",
         [arr(2, 3), arr(4)], ALL),
    ],
    np.polyval: [
        ("OP(x0, x1)", [arr(3), arr(4)], ALL),
        ("OP(x0, x1)", [arr(1), arr(2, 2)], ALL),
        ("OP(x0, x1)", [arr(4), FLOAT], ALL),
    ],
    # NumPy's name for it: np.trapz before 2.0 (deprecated since)
    getattr(np, "trapezoid", None) or np.trapz: [
        ("OP(x0)", [arr(5)], ALL),
        ("OP(x0, dx=x1)", [arr(2, 4), FLOAT], ALL),
        ("OP(x0, x1)", [arr(4), arr(4)], ALL),
        ("OP(x0, x1, axis=0)", [arr(3, 2), arr(3)], ALL),
        ("OP(x0, x1, axis=1)", [arr(3, 2), arr(3, 2)], ALL),
    ],
})

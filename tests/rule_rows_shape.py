"""Rows of the registry test for the rules in s2sad/rules/numpy_shape.py:
rule key -> [(expression, args, argnums)], merged into SPECIAL_CASES."""

import numpy as np

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

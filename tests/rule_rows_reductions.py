"""Rows of the registry test for the rules in s2sad/rules/numpy_reductions.py:
rule key -> [(expression, args, argnums)], merged into SPECIAL_CASES.

Literal arrays holding 0.0 check that np.prod and np.cumprod are exact at
zeros (both are multilinear, so central differences there are exact too).
Ties of np.max and friends are kinks: tests/test_reductions.py checks them
by value instead.
"""

import numpy as np

from s2sad.rules import numpy_reductions as reductions
from tests.rule_inputs import ALL, FLOAT, REDUCTIONS, arr

# the rows of np.sum and np.mean in tests/test_rules.py (not imported: that
# module imports this one)

ZEROS_1 = np.array([1.5, 0.0, -2.0, 0.7])
ZEROS_2 = np.array([0.0, 0.0, 3.0])
ZEROS_23 = np.array([[0.0, 1.2, -0.7], [2.0, 0.0, 0.0]])
ZEROS_232 = np.array([[[0.9, 0.0], [1.1, -0.6], [0.0, 1.3]],
                      [[-1.4, 0.8], [0.0, 0.0], [0.5, 2.0]]])

MOMENTS = REDUCTIONS + [
    ("OP(x0, ddof=1)", [arr(3)], ALL),
    ("OP(x0, axis=0, ddof=1)", [arr(3, 2)], ALL),
    ("OP(x0, 1, None, None, 1, True)", [arr(2, 3)], ALL),
    ("OP(x0, axis=(0, 2), ddof=2, keepdims=True)", [arr(2, 3, 4)], ALL),
]

# where= masks: a row of the mask all False leaves an empty reduction
WHERE = np.array([[True, False, True], [False, True, True]])
MASKED = [
    ("OP(x0, where=x1)", [arr(2, 3), WHERE], (0,)),
    ("OP(x0, axis=1, where=x1)", [arr(2, 3), WHERE], (0,)),
    ("OP(x0, axis=0, keepdims=True, where=x1)", [arr(2, 3), WHERE], (0,)),
    ("OP(x0, axis=1, where=x1[0])", [arr(2, 3), WHERE], (0,)),
    ("OP(x0, dtype=np.float64)", [arr(2, 3)], ALL),
]
EXTREMA = REDUCTIONS + [
    ("OP(x0, initial=x1)", [arr(2, 3), FLOAT], ALL),
    ("OP(x0, axis=1, initial=x1, where=x2)", [arr(2, 3), FLOAT, WHERE],
     (0, 1)),
    ("OP(x0, axis=0, keepdims=True, initial=-5.0, where=x1)",
     [arr(2, 3), WHERE], (0,)),
]

# order statistics: q constant; every method of np.quantile
QUANTILES = [
    ("OP(x0, Q)", [arr(5)], ALL),
    ("OP(x0, Q, axis=1)", [arr(2, 5)], ALL),
    ("OP(x0, Q, 0, keepdims=True)", [arr(3, 2)], ALL),
    ("OP(x0, [Q, Q / 3.0], axis=(0, 2))", [arr(2, 3, 2)], ALL),
    ("OP(x0, Q, axis=-1, method='nearest')", [arr(2, 4)], ALL),
    ("OP(x0, Q, axis=1, method='midpoint')", [arr(2, 4)], ALL),
    ("OP(x0, Q, method='hazen')", [arr(2, 3)], ALL),
    ("OP(x0, Q, method='inverted_cdf')", [arr(7)], ALL),
]
MEDIANS = REDUCTIONS[:10] + [("OP(x0, axis=0, keepdims=True)",
                              [arr(4, 3)], ALL)]

# ufunc methods (s2sad/rules/numpy_ufuncs.py); u.outer's rows are generated
UFUNC_REDUCE = [
    ("OP(x0)", [arr(3)], ALL),
    ("OP(x0)", [arr(2, 3)], ALL),
    ("OP(x0, 1)", [arr(2, 3)], ALL),
    ("OP(x0, axis=None)", [arr(2, 3)], ALL),
    ("OP(x0, axis=(0, 2), keepdims=True)", [arr(2, 3, 2)], ALL),
    ("OP(x0, axis=-1, keepdims=True)", [arr(2, 3)], ALL),
]
UFUNC_ACCUMULATE = [
    ("OP(x0)", [arr(4)], ALL),
    ("OP(x0)", [arr(2, 3)], ALL),
    ("OP(x0, 1)", [arr(2, 3)], ALL),
    ("OP(x0, axis=-1)", [arr(2, 5)], ALL),
]

CUMULATIVE = [
    ("OP(x0)", [arr(3)], ALL),
    ("OP(x0)", [arr(2, 3)], ALL),
    ("OP(x0)", [arr()], ALL),
    ("OP(x0)", [FLOAT], ALL),
    ("OP(x0, 0)", [arr(2, 3)], ALL),
    ("OP(x0, axis=1)", [arr(2, 3)], ALL),
    ("OP(x0, axis=-1)", [arr(2, 3, 4)], ALL),
    ("OP(x0, axis=1)", [arr(2, 9)], ALL),  # several steps of the scan
]

ROWS = {
    np.prod: REDUCTIONS + [
        ("OP(x0)", [ZEROS_1], ALL),
        ("OP(x0)", [ZEROS_2], ALL),
        ("OP(x0)", [0.0], ALL),
        ("OP(x0, axis=0)", [ZEROS_23], ALL),
        ("OP(x0, axis=1, keepdims=True)", [ZEROS_23], ALL),
        ("OP(x0, axis=(0, 2))", [ZEROS_232], ALL),
        ("OP(x0, axis=-2)", [ZEROS_232], ALL),
    ],
    np.max: EXTREMA,
    np.amax: REDUCTIONS,
    np.min: EXTREMA,
    np.amin: REDUCTIONS,
    np.ptp: REDUCTIONS,
    # the NaN-ignoring reductions on numbers; NaN inputs:
    # tests/test_numpy_breadth.py
    np.nanmax: REDUCTIONS,
    np.nanmin: REDUCTIONS,
    np.nansum: REDUCTIONS + MASKED,
    np.nanmean: REDUCTIONS + MASKED,
    np.nanprod: REDUCTIONS + [("OP(x0, axis=1)", [ZEROS_23], ALL)],
    np.nanvar: MOMENTS + MASKED[:4],
    np.nanstd: MOMENTS + MASKED[:4],
    np.nancumsum: CUMULATIVE,
    np.add.reduce: UFUNC_REDUCE + [
        ("OP(x0, axis=1, where=x1, initial=x2)", [arr(2, 3), WHERE, FLOAT],
         (0, 2))],
    np.multiply.reduce: UFUNC_REDUCE + [("OP(x0, 1)", [ZEROS_23], ALL)],
    np.maximum.reduce: UFUNC_REDUCE + [
        ("OP(x0, axis=1, where=x1, initial=-3.0)", [arr(2, 3), WHERE], (0,))],
    np.minimum.reduce: UFUNC_REDUCE,
    np.fmax.reduce: UFUNC_REDUCE,
    np.fmin.reduce: UFUNC_REDUCE,
    np.logaddexp.reduce: UFUNC_REDUCE,
    np.logaddexp2.reduce: UFUNC_REDUCE,
    np.add.accumulate: UFUNC_ACCUMULATE,
    np.multiply.accumulate: UFUNC_ACCUMULATE + [
        ("OP(x0, axis=1)", [ZEROS_23], ALL)],
    np.maximum.accumulate: UFUNC_ACCUMULATE,
    np.minimum.accumulate: UFUNC_ACCUMULATE,
    np.fmax.accumulate: UFUNC_ACCUMULATE,
    np.fmin.accumulate: UFUNC_ACCUMULATE,
    np.quantile: [(e.replace("Q", "0.3"), a, n) for e, a, n in QUANTILES],
    np.nanquantile: [(e.replace("Q", "0.8"), a, n) for e, a, n in QUANTILES],
    np.percentile: [(e.replace("Q", "40.0"), a, n) for e, a, n in QUANTILES],
    np.nanpercentile: [(e.replace("Q", "65.0"), a, n)
                       for e, a, n in QUANTILES],
    np.median: MEDIANS,
    np.nanmedian: MEDIANS,
    np.nancumprod: CUMULATIVE + [("OP(x0, axis=1)", [ZEROS_23], ALL)],
    np.var: MOMENTS,
    np.std: MOMENTS,
    np.cumsum: CUMULATIVE,
    np.cumprod: CUMULATIVE + [
        ("OP(x0)", [ZEROS_1], ALL),
        ("OP(x0)", [ZEROS_2], ALL),
        ("OP(x0, axis=1)", [ZEROS_23], ALL),
        ("OP(x0, axis=0)", [ZEROS_23], ALL),
        ("OP(x0)", [ZEROS_232], ALL),
    ],
    np.trace: [
        ("OP(x0)", [arr(3, 3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0, 1)", [arr(2, 3)], ALL),
        ("OP(x0, -1)", [arr(3, 2)], ALL),
        ("OP(x0, 5)", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(2, 3, 4)], ALL),
        ("OP(x0, 1, 1, 2)", [arr(2, 3, 4)], ALL),
        ("OP(x0, offset=-1, axis1=2, axis2=0)", [arr(2, 3, 4)], ALL),
        ("OP(x0, axis1=-1, axis2=-2)", [arr(2, 3, 4)], ALL),
    ],
    np.average: REDUCTIONS[:10] + [
        ("OP(x0, weights=x1)", [arr(2, 3), arr(2, 3)], ALL),
        ("OP(x0, weights=x1)", [arr(3), arr(3)], (0,)),  # a only
        ("OP(x1, weights=x0)", [arr(3), arr(3)], (0,)),  # weights only
        ("OP(x0, None, x1)", [arr(3), arr(3)], ALL),
        ("OP(x0, axis=1, weights=x1)", [arr(2, 3), arr(3)], ALL),
        ("OP(x0, 0, x1)", [arr(2, 3), arr(2)], ALL),
        ("OP(x0, axis=-1, weights=x1)", [arr(2, 3), arr(3)], ALL),
        ("OP(x0, axis=1, weights=x1, keepdims=True)",
         [arr(2, 3), arr(2, 3)], ALL),
        ("OP(x0, axis=0, weights=x1, keepdims=True)",
         [arr(2, 3), arr(2)], ALL),
        ("OP(x0, axis=(0, 2), weights=x1)", [arr(2, 3, 4), arr(2, 4)], ALL),
        ("OP(x0, axis=(2, 0), weights=x1)", [arr(2, 3, 4), arr(4, 2)], ALL),
        ("OP(x0, axis=(0, 1), weights=x1)", [arr(2, 3), arr(2, 3)], ALL),
        ("OP(x0, axis=1, keepdims=True)", [arr(2, 3)], ALL),
    ],
    np.linalg.norm: [
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0)", [arr(2, 3, 4)], ALL),
        ("OP(x0)", [arr()], ALL),
        ("OP(x0, keepdims=True)", [arr(2, 3)], ALL),
        # vectors
        ("OP(x0, 2)", [arr(3)], ALL),
        ("OP(x0, 1)", [arr(3)], ALL),
        ("OP(x0, np.inf)", [arr(4)], ALL),
        ("OP(x0, -np.inf)", [arr(4)], ALL),
        ("OP(x0, 0)", [arr(3)], ALL),
        ("OP(x0, ord=1, keepdims=True)", [arr(3)], ALL),
        ("OP(x0, axis=1)", [arr(2, 3)], ALL),
        ("OP(x0, 2, -1, True)", [arr(2, 3)], ALL),
        ("OP(x0, 1, axis=0)", [arr(3, 2)], ALL),
        ("OP(x0, np.inf, axis=1)", [arr(2, 3)], ALL),
        ("OP(x0, -np.inf, 0, True)", [arr(3, 2)], ALL),
        ("OP(x0, axis=-2)", [arr(2, 3, 4)], ALL),
        ("OP(x0, 3)", [arr(4)], ALL),
        ("OP(x0, 4, axis=0, keepdims=True)", [arr(3, 2)], ALL),
        ("OP(x0, 1.5, -1)", [arr(2, 3)], ALL),
        ("OP(x0, -2.5)", [arr(3)], ALL),
        ("OP(x0, ord=0.5, axis=1)", [arr(2, 3)], ALL),
        # matrices
        ("OP(x0, 'fro')", [arr(2, 3)], ALL),
        ("OP(x0, axis=(1, 0))", [arr(2, 3)], ALL),
        ("OP(x0, 'fro', (0, 2))", [arr(2, 3, 4)], ALL),
        ("OP(x0, 1)", [arr(3, 3)], ALL),
        ("OP(x0, -1)", [arr(3, 2)], ALL),
        ("OP(x0, np.inf)", [arr(2, 3)], ALL),
        ("OP(x0, -np.inf)", [arr(3, 3)], ALL),
        ("OP(x0, 1, (2, 0), True)", [arr(2, 3, 4)], ALL),
        ("OP(x0, -np.inf, (-1, 0), True)", [arr(2, 3, 4)], ALL),
        ("OP(x0, np.inf, axis=(1, 2))", [arr(2, 3, 4)], ALL),
        ("OP(x0, 'nuc')", [arr(3, 3)], ALL),
        ("OP(x0, 'nuc')", [arr(2, 3)], ALL),
        ("OP(x0, 'nuc', (2, 0), True)", [arr(2, 3, 4)], ALL),
        ("OP(x0, 2)", [arr(3, 3)], ALL),
        ("OP(x0, 2)", [arr(3, 2)], ALL),
        ("OP(x0, -2)", [arr(2, 3)], ALL),
        ("OP(x0, -2, axis=(0, 1))", [arr(3, 3)], ALL),
        ("OP(x0, 2, (-1, 1), False)", [arr(2, 3, 4)], ALL),
    ],
}

# ---- the module's differentiable helpers ----

ROWS.update({
    reductions._shift: [
        ("OP(x0, 0, 1)", [arr(4)], ALL),
        ("OP(x0, 1, -2)", [arr(2, 4)], ALL),
        ("OP(x0, -1, 0)", [arr(2, 3)], ALL),
        ("OP(x0, -1, 3)", [arr(2, 3)], ALL),
    ],
    reductions._forward_scan: [
        ("OP(x0, x1, 0)", [arr(5), arr(5)], ALL),
        ("OP(x0, x1, -1)", [arr(2, 6), arr(2, 6)], ALL),
        ("OP(x0, x1, 0)", [arr(4, 2), arr(4, 2)], ALL),
        ("OP(x0, x1, 0)", [np.array([0.5, 0.0, -1.2, 0.0, 2.0]), arr(5)],
         ALL),
        ("OP(x0, x1, 0)", [arr(3), np.array([1.0, 0.0, 0.0])], (0,)),
    ],
    reductions._backward_scan: [
        ("OP(x0, x1, 0)", [arr(5), arr(5)], ALL),
        ("OP(x0, x1, -1)", [arr(2, 6), arr(2, 6)], ALL),
        ("OP(x0, x1, 0)", [arr(4, 2), arr(4, 2)], ALL),
        ("OP(x0, x1, 0)", [np.array([0.5, 0.0, -1.2, 0.0, 2.0]), arr(5)],
         ALL),
        ("OP(x0, x1, 0)", [arr(3), np.array([0.0, 0.0, 1.0])], (0,)),
    ],
    # singular vectors are defined up to sign: only sign-free functions of
    # them are checked (s, U Vt, the outer product of the first pair)
    reductions._svd: [
        ("OP(x0)[1]", [arr(3, 3)], ALL),
        ("OP(x0)[1]", [arr(2, 4, 3)], ALL),
        ("OP(x0)[0] @ OP(x0)[2]", [arr(3, 3)], ALL),
        ("OP(x0)[0] @ OP(x0)[2]", [arr(4, 2)], ALL),
        ("OP(x0)[0] @ OP(x0)[2]", [arr(2, 2, 4)], ALL),
        ("OP(x0)[0][:, :1] * OP(x0)[2][:1, :]", [arr(3, 3)], ALL),
        ("OP(x0)[0][:, 1:2] * OP(x0)[2][1:2, :] * OP(x0)[1][0]",
         [arr(2, 3)], ALL),
        ("OP(x0)[0][:, :1] * OP(x0)[2][:1, :]", [arr(4, 3)], ALL),
    ],
    reductions._matrix_view: [
        ("OP(x0, x0, 'nuc')", [arr(2, 3)], ALL),
        ("OP(x0, x1, 2, (2, 0))", [arr(2, 3, 4), arr(2, 3, 4)], (0,)),
        ("OP(x0, x1, None, 1)", [arr(2, 3), arr(2, 3)], (0,)),
    ],
    reductions._matrix_view_back: [
        ("OP(x0, x1, 'nuc')", [arr(2, 3), arr(2, 3)], (0,)),
        ("OP(x0, x1, -2, (2, 0))", [arr(3, 4, 2), arr(2, 3, 4)], (0,)),
        ("OP(x0, x1, 1)", [arr(1, 1), arr(3)], (0,)),
    ],
    reductions._safe_reciprocal: [
        ("OP(x0)", [FLOAT], ALL),
        ("OP(x0)", [arr()], ALL),
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
    ],
    reductions._weights_for: [
        ("OP(x0, x1, None)", [arr(2, 3), arr(2, 3)], (0,)),
        ("OP(x0, x1, 1)", [arr(3), arr(2, 3)], (0,)),
        ("OP(x0, x1, (2, 0))", [arr(4, 2), arr(2, 3, 4)], (0,)),
    ],
    reductions._weights_back: [
        ("OP(x0, x1, x2, None)", [arr(2, 3), arr(2, 3), arr(2, 3)], (0,)),
        ("OP(x0, x1, x2, 1)", [arr(1, 3), arr(3), arr(2, 3)], (0,)),
        ("OP(x0, x1, x2, (2, 0))", [arr(2, 1, 4), arr(4, 2), arr(2, 3, 4)],
         (0,)),
    ],
})

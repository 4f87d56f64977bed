"""Rows of the registry test for the SciPy rules (s2sad/rules/scipy_*.py),
when SciPy is installed: importing it here loads those rules, so the
registry test checks them. The ufuncs get the generated rows (floats, 0-d
and 2-d arrays, broadcasting pairs); these are the rest."""

import numpy as np

from tests.rule_inputs import ALL, FLOAT, REDUCTIONS, arr

try:
    from scipy import special, stats
except ImportError:  # the rules are not loaded either
    special = stats = None

ROWS = {}

AXES = [
    ("OP(x0)", [arr(2, 3)], ALL),
    ("OP(x0)", [arr(3)], ALL),
    ("OP(x0, axis=0)", [arr(2, 3)], ALL),
    ("OP(x0, axis=-1)", [arr(2, 3)], ALL),
    ("OP(x0, 1)", [arr(2, 3)], ALL),
    ("OP(x0, axis=(0, 2))", [arr(2, 3, 4)], ALL),
]
NORM = [
    ("OP(x0)", [arr(2, 3)], ALL),
    ("OP(x0)", [FLOAT], ALL),
    ("OP(x0, x1)", [arr(2, 3), arr(3)], ALL),
    ("OP(x0, x1, x2 + 1.5)", [arr(2, 3), FLOAT, arr(2, 1)], ALL),
    ("OP(x0, loc=x1, scale=x2 + 1.5)", [arr(3), arr(3), FLOAT], ALL),
    ("OP(x0, scale=2.0)", [arr(3)], ALL),
    ("OP(x0 - 6.0)", [arr(3)], ALL),  # far in the lower tail
]

if special is not None:
    ROWS[special.logsumexp] = REDUCTIONS + [
        ("OP(x0, b=x1 * x1 + 0.5)", [arr(2, 3), arr(2, 3)], ALL),
        ("OP(x0, axis=1, b=x1)", [arr(2, 3), np.array([0.5, 1.0, 2.0])],
         ALL),
        ("OP(x0, axis=0, b=x1 * x1 + 0.5, keepdims=True)",
         [arr(2, 3), arr(2, 1)], ALL),
        ("OP(x0, 1, x1 * x1 + 0.5, True)", [arr(2, 3), arr(3)], ALL),
    ]
    ROWS[special.softmax] = AXES
    ROWS[special.log_softmax] = AXES
    ROWS[special.polygamma] = [
        ("OP(1, x0)", [FLOAT], ALL),
        ("OP(3, x0)", [arr(2, 3)], ALL),
        ("OP(np.array([0, 1, 2]), x0)", [arr(2, 3)], ALL),
        ("OP(2, x0)", [-2.5], ALL),
    ]
    ROWS[special.zeta] = [
        ("OP(2.0, x0)", [FLOAT], ALL),
        ("OP(3.5, x0)", [arr(2, 3)], ALL),
        ("OP(np.array([2.0, 3.0, 4.0]), x0)", [arr(2, 3)], ALL),
    ]
    ROWS[special.xlogy] = [
        ("OP(x0, x1)", [arr(2, 3), arr(3)], ALL),
        ("OP(x0, x1)", [FLOAT, FLOAT], ALL),
        ("OP(0.0, x0)", [arr(3)], ALL),
    ]
if stats is not None:
    for _f in (stats.norm.logpdf, stats.norm.pdf, stats.norm.cdf,
               stats.norm.logcdf):
        ROWS[_f] = NORM

"""Rows of the registry test for the rules in s2sad/rules/math.py: rule key
-> [(expression, args, argnums)], merged into SPECIAL_CASES. Functions of
sequences take lists of floats, tuples and arrays; literal floats pick
points the rules' domains do not draw (a base, a negative argument)."""

import math

from s2sad import runtime
from tests.rule_inputs import ALL, FLOAT, arr

ROWS = {
    math.log: [
        ("OP(x0)", [FLOAT], ALL),
        ("OP(x0, x1)", [FLOAT, 3.0], ALL),
        ("OP(x0, x1)", [FLOAT, 0.4], ALL),
        ("OP(x0, 10.0)", [FLOAT], ALL),
    ],
    math.ldexp: [
        ("OP(x0, 3)", [FLOAT], ALL),
        ("OP(x0, -2)", [FLOAT], ALL),
    ],
    math.frexp: [
        ("OP(x0)[0]", [FLOAT], ALL),
        ("OP(x0)[0] * OP(x0)[1]", [FLOAT], ALL),
        ("OP(x0)[0]", [-37.5], ALL),
    ],
    math.modf: [
        ("OP(x0)[0]", [FLOAT], ALL),
        ("OP(x0)[0] * x0 + OP(x0)[1]", [2.3], ALL),
    ],
    runtime.digamma: [
        ("OP(x0)", [FLOAT], ALL),
        ("OP(x0)", [-0.3], ALL),
        ("OP(x0)", [23.5], ALL),
    ],
    runtime.polygamma: [
        ("OP(0, x0)", [FLOAT], ALL),
        ("OP(1, x0)", [FLOAT], ALL),
        ("OP(3, x0)", [FLOAT], ALL),
        ("OP(2, x0)", [-2.5], ALL),
        ("OP(1, x0)", [40.0], ALL),
    ],
    math.hypot: [  # (of two numbers: its own rule; others, runtime.hypot)
        ("OP(x0, x1)", [FLOAT, FLOAT], ALL),
        ("OP(x0, -2.5)", [FLOAT], ALL),
        ("OP(x0 * x1, x0)", [FLOAT, FLOAT], ALL),
    ],
    runtime.hypot: [
        ("OP([x0, x1])", [FLOAT, FLOAT], ALL),
        ("OP([x0, x1, x2])", [FLOAT, FLOAT, FLOAT], ALL),
        ("OP((x0, 2.0))", [FLOAT], ALL),
        ("OP([x0])", [FLOAT], ALL),
        ("OP(x0)", [arr(3)], ALL),
    ],
    math.fsum: [
        ("OP([x0, x1, x2])", [FLOAT, FLOAT, FLOAT], ALL),
        ("OP((x0, x0 * x1))", [FLOAT, FLOAT], ALL),
        ("OP(x0)", [arr(4)], ALL),
    ],
    math.prod: [
        ("OP([x0, x1, x2])", [FLOAT, FLOAT, FLOAT], ALL),
        ("OP([x0, 0.0, x1])", [FLOAT, FLOAT], ALL),
        ("OP([x0, x1], start=x2)", [FLOAT, FLOAT, FLOAT], ALL),
        ("OP((x0, x1), start=0.0)", [FLOAT, FLOAT], ALL),
        ("OP([x0])", [FLOAT], ALL),
        ("OP(x0)", [arr(3)], ALL),
        ("OP(x0)", [arr(3, 2)], ALL),
    ],
    math.dist: [
        ("OP([x0, x1], [x2, x3])", [FLOAT] * 4, ALL),
        ("OP((x0,), (x1,))", [FLOAT, FLOAT], ALL),
        ("OP([x0, 1.0, x1], [0.5, x1, -x0])", [FLOAT, FLOAT], ALL),
        ("OP(x0, x1)", [arr(3), arr(3)], ALL),
    ],
}

if hasattr(math, "sumprod"):  # Python 3.12+
    ROWS[math.sumprod] = [
        ("OP([x0, x1], [x2, x3])", [FLOAT] * 4, ALL),
        ("OP((x0, x1, 2.0), (x1, 0.5, x0))", [FLOAT, FLOAT], ALL),
        ("OP(x0, x1)", [arr(3), arr(3)], ALL),
    ]

if hasattr(math, "fma"):  # Python 3.13+
    ROWS[math.fma] = [
        ("OP(x0, x1, x2)", [FLOAT, FLOAT, FLOAT], ALL),
    ]

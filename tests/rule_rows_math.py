"""Rows of the registry test for the rules in s2sad/rules/math.py and
s2sad/rules/cmath.py (and the built-in `complex`): rule key -> [(expression,
args, argnums)], merged into SPECIAL_CASES. cmath's values are complex: a
row reads a real number of them (`.real`, `abs`, a product's part). Functions of
sequences take lists of floats, tuples and arrays; literal floats pick
points the rules' domains do not draw (a base, a negative argument)."""

import builtins
import cmath
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

    builtins.complex: [
        ("(OP(x0, x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0, x1)) + OP(x0).real", [FLOAT, FLOAT], ALL),
        ("(OP(x0, x1) ** 2).imag", [FLOAT, FLOAT], ALL),
    ],
    cmath.exp: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.sqrt: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.sin: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.cos: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.tan: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.asin: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.acos: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.atan: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.sinh: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.cosh: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.tanh: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.asinh: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.acosh: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.atanh: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.log10: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("abs(OP(x0))", [FLOAT], ALL),
    ],
    cmath.log: [
        ("(OP(x0 + 0.3j * x1) * (1.0 - 2.0j)).real", [FLOAT, FLOAT], ALL),
        ("OP(x0, x1).imag + abs(OP(x0 + 1j * x1, x2))", [FLOAT, FLOAT, FLOAT],
         ALL),
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

"""Every rule in the registry, checked against central differences.

The registry is the test table: the cases of
`test_rule_matches_central_differences` are built from `registry.all_rules()`,
so no rule can be registered unchecked. A rule's rows come from
`SPECIAL_CASES` when it has an entry there (integer axes, index arrays,
conditions, products, built-ins); otherwise they are generated from its
arity, `broadcasts` and `domain`:

- numpy and operator rules: Python floats, 0-d arrays, (3,) and (2, 3) inputs,
  plus broadcasting pairs for two-input rules; operators that have a Python
  syntax are checked both called (`OP(x0, x1)`) and spelled (`x0 + x1`);
- math rules: Python floats.

Each row becomes a module-level function written to a file (s2sad reads
source with `inspect`), `probe_<n>(x0, x1, ...)`, that returns
`np.sum(<expression> * W)` with W a fixed random array of the output's shape
(a float for math rules), so the adjoint of every output element counts. Its
s2sad gradient w.r.t. every float input is compared with central differences
in float64 by `s2sad.check_grads` (eps 1e-6, rtol 1e-6, atol 1e-8).

Non-differentiable numpy and math functions of one array are checked to pass
no gradient. Engine bugs found here are listed in `KNOWN_BUGS` and run as
strict xfails: they stay visible, and the suite says when one gets fixed.
"""

import ast
import builtins
import importlib.util
import inspect
import itertools
import operator
import warnings

import numpy as np
import pytest

import s2sad
from s2sad import calls, checkpoints, derive, extend, runtime, ssa
from tests import (
    rule_rows_complex, rule_rows_containers, rule_rows_linalg,
    rule_rows_math, rule_rows_products, rule_rows_reductions,
    rule_rows_scipy, rule_rows_shape)
from tests.rule_inputs import (
    ALL, FLOAT, REDUCTIONS, Draw, arr, call_or_skip_where_deprecated,
    deprecated_here)
from s2sad.rules import registry
from s2sad.rules.registry import d

# ---- inputs ----




def draw(domain, shape, rng):
    """One input from `domain`: an array of `shape`, or a Python float."""
    size = () if shape is None else shape
    if domain in ("real", "distinct"):
        x = rng.standard_normal(size)
    elif domain == "positive":
        x = rng.uniform(0.5, 2.0, size)
    elif domain == "unit":
        x = rng.uniform(-0.8, 0.8, size)
    elif domain == "probability":
        x = rng.uniform(0.1, 0.9, size)
    elif domain == "above_one":
        x = rng.uniform(1.2, 3.0, size)
    elif domain == "nonzero":
        x = rng.uniform(0.5, 2.0, size) * rng.choice([-1.0, 1.0], size)
    else:
        raise ValueError(f"no sampler for domain {domain!r}")
    return float(x) if shape is None else np.asarray(x)


def draw_args(args, domain, rng):
    """`args` with every `Draw` replaced by a value; "distinct" avoids ties."""
    for _ in range(100):
        values = [
            draw(domain, a.shape, rng) if isinstance(a, Draw) else a
            for a in args
        ]
        if domain != "distinct" or _apart(values):
            return values
    raise AssertionError(f"could not draw tie-free inputs for {args}")


def _apart(values, gap=1e-2):
    """Whether all float elements of `values` are pairwise `gap` apart."""
    flat = np.concatenate([np.ravel(v) for v in values if is_float(v)])
    return bool(np.all(np.diff(np.sort(flat)) >= gap))


def is_float(value):
    return isinstance(value, float) or (
        isinstance(value, np.ndarray) and value.dtype.kind == "f"
    )


def module_of(key):
    return getattr(key, "__module__", None)


# ---- generated rows: rules whose inputs are all float arrays ----

SHAPES = [None, (), (3,), (2, 3)]
BROADCAST_PAIRS = [
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((2, 3), None),
    (None, (2, 3)),
]

SYNTAX = {
    operator.add: "x0 + x1",
    operator.sub: "x0 - x1",
    operator.mul: "x0 * x1",
    operator.truediv: "x0 / x1",
    operator.pow: "x0 ** x1",
    operator.mod: "x0 % x1",
    operator.neg: "-x0",
    operator.pos: "+x0",
}


def generated_rows(rule):
    """Every spelling of the call x every shape row the rule admits."""
    template = rule.partials or rule.adjoint
    inputs = list(template.signature.parameters.values())[1:]
    n = sum(p.default is p.empty for p in inputs)
    spellings = [f"OP({', '.join(f'x{i}' for i in range(n))})"]
    if rule.key in SYNTAX:
        spellings.append(SYNTAX[rule.key])
    if module_of(rule.key) == "math":
        shapes = [(None,) * n]
    else:
        shapes = [(s,) * n for s in SHAPES]
        if n == 2 and rule.broadcasts:
            shapes += BROADCAST_PAIRS
    return [
        (expr, [Draw(s) for s in row], ALL)
        for expr in spellings
        for row in shapes
    ]


# ---- special rows: (expression, args, argnums) ----
# `OP` is the rule's key; args are `Draw`s or literal constants.

MASK = np.array([[True, False, True], [False, False, True]])
DUPLICATES = np.array([0, 2, 0])


PRODUCT_SHAPES = [
    ((2, 3), (3, 4)),  # matrix, matrix
    ((2, 3), (3,)),  # matrix, vector
    ((3,), (3, 4)),  # vector, matrix
    ((3,), (3,)),  # vector, vector
]
BATCHED_SHAPES = [
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 2, 3), (4, 3, 2)),  # batch dimensions broadcast
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
]


def product_rows(spellings, shapes):
    return [
        (expr, [arr(*a), arr(*b)], ALL)
        for expr in spellings
        for a, b in shapes
    ]


# (adjoint g shaped like a @ b, a, b) for the matmul/dot adjoint helpers
_PRODUCTS = [(arr(2, 4), arr(2, 3), arr(3, 4)), (arr(4), arr(3), arr(3, 4)),
             (arr(2), arr(2, 3), arr(3)), (FLOAT, arr(3), arr(3))]
RUNTIME_PRODUCT_ROWS_A = [("OP(x0, x1, x2)", list(p), (0, 2)) for p in _PRODUCTS]
RUNTIME_PRODUCT_ROWS_B = [("OP(x0, x1, x2)", list(p), (0, 1)) for p in _PRODUCTS]

SPECIAL_CASES = {
    np.sum: REDUCTIONS + rule_rows_reductions.MASKED + [
        ("OP(x0, initial=x1)", [arr(2, 3), FLOAT], ALL),
        ("OP(x0, 1, None, None, True, x1)", [arr(2, 3), FLOAT], ALL),
    ],
    np.mean: REDUCTIONS + rule_rows_reductions.MASKED,
    np.where: [
        ("OP(x0, x1, x2)", [MASK, arr(2, 3), arr(2, 3)], (1, 2)),
        ("OP(x0, x1, x2)", [MASK, arr(3), FLOAT], (1, 2)),
        ("OP(x0, x1, x2)", [MASK, arr(2, 1), arr(1, 3)], (1, 2)),
        ("OP(x0, x1, x2)", [MASK[0], arr(2, 3), arr(2, 1)], (1, 2)),
        ("OP(x0, x1, x2)", [MASK, FLOAT, FLOAT], (1, 2)),
        ("OP(x0 > 0.0, x0, x1)", [arr(2, 3), arr(3)], ALL),
    ],
    np.dot: product_rows(["OP(x0, x1)"], PRODUCT_SHAPES)
    + [
        ("OP(x0, x1)", [FLOAT, arr(2, 3)], ALL),
        ("OP(x0, x1)", [arr(2, 3), FLOAT], ALL),
        ("OP(x0, x1)", [arr(), arr(3)], ALL),
        ("OP(x0, x1)", [arr(3), arr()], ALL),
        # past matrices: a's last axis against b's second to last
        ("OP(x0, x1)", [arr(2, 3, 4), arr(4, 2)], ALL),
        ("OP(x0, x1)", [arr(3, 4), arr(2, 4, 3)], ALL),
        ("OP(x0, x1)", [arr(2, 2, 3), arr(2, 3, 2)], ALL),
        ("OP(x0, x1)", [arr(3), arr(2, 3, 2)], ALL),
        ("OP(x0, x1)", [arr(2, 2, 3), arr(3)], ALL),
    ],
    np.matmul: product_rows(["OP(x0, x1)"], PRODUCT_SHAPES + BATCHED_SHAPES),
    operator.matmul: product_rows(
        ["x0 @ x1", "OP(x0, x1)"], PRODUCT_SHAPES + BATCHED_SHAPES
    ),
    operator.getitem: [
        ("x0[1]", [arr(3)], ALL),
        ("x0[1]", [arr(2, 3)], ALL),
        ("x0[-1]", [arr(3)], ALL),
        ("x0[-1]", [arr(2, 3)], ALL),
        ("x0[1:]", [arr(5)], ALL),
        ("x0[::2]", [arr(5)], ALL),
        ("x0[::-2]", [arr(5)], ALL),
        ("x0[:, 1]", [arr(2, 3)], ALL),
        ("x0[1, -1]", [arr(2, 3)], ALL),
        ("x0[:, ::2]", [arr(2, 3)], ALL),
        ("x0[x1]", [arr(3), DUPLICATES], (0,)),
        ("x0[x1]", [arr(3, 2), DUPLICATES], (0,)),
        ("x0[x1]", [arr(2, 3), MASK], (0,)),
        ("x0[x1, 1]", [arr(3, 2), DUPLICATES], (0,)),
        ("x0[..., 0]", [arr(2, 3)], ALL),
        ("x0[:, None]", [arr(3)], ALL),
        ("OP(x0, 1)", [arr(3)], ALL),
        ("OP(x0, x1)", [arr(3), DUPLICATES], (0,)),
    ],
    registry.attribute("T"): [
        ("x0.T", [arr(3)], ALL),
        ("x0.T", [arr(2, 3)], ALL),
        ("x0.T", [arr(2, 3, 4)], ALL),
    ],
    np.clip: [
        ("OP(x0, -0.5, 0.5)", [arr(2, 3)], ALL),
        ("OP(x0, None, 0.5)", [arr(3)], ALL),
        ("OP(x0, -0.5, None)", [FLOAT], ALL),
        ("OP(x0, x1, x2)", [arr(2, 3), -0.5, arr(3)], (0,)),
        ("OP(x0, x1, x2)", [arr(2, 3), arr(3), FLOAT], ALL),
        ("OP(x0, x1 - 1.0, x1 + 1.0)", [arr(2, 3), arr(2, 1)], ALL),
    ],
    builtins.abs: [
        ("OP(x0)", [FLOAT], ALL),
        ("abs(x0)", [FLOAT], ALL),
        ("OP(x0)", [arr()], ALL),
        ("OP(x0)", [arr(3)], ALL),
        ("abs(x0)", [arr(2, 3)], ALL),
    ],
    builtins.float: [
        ("OP(x0)", [FLOAT], ALL),
        ("float(x0)", [FLOAT], ALL),
        ("OP(x0)", [arr()], ALL),
    ],
    builtins.max: [
        ("OP(x0, x1)", [FLOAT, FLOAT], ALL),
        ("max(x0, x1)", [1.5, -0.3], ALL),
        ("max(x0, x1)", [-0.3, 1.5], ALL),
        ("OP(x0, x1)", [arr(), arr()], ALL),
    ],
    builtins.min: [
        ("OP(x0, x1)", [FLOAT, FLOAT], ALL),
        ("min(x0, x1)", [1.5, -0.3], ALL),
        ("min(x0, x1)", [-0.3, 1.5], ALL),
        ("OP(x0, x1)", [arr(), arr()], ALL),
    ],
    # The runtime helpers generated code calls: differentiated when a
    # gradient is differentiated again. Arguments read only for their shape
    # are left out of argnums.
    runtime.unbroadcast: [
        ("OP(x0, x1)", [arr(2, 3), arr(3)], (0,)),
        ("OP(x0, x1)", [arr(2, 3), arr(2, 1)], (0,)),
        ("OP(x0, x1)", [arr(3), FLOAT], (0,)),
        ("OP(x0, x1)", [arr(3), arr(3)], (0,)),
    ],
    runtime.broadcast_like: [
        ("OP(x0, x1)", [arr(3), arr(2, 3)], (0,)),
        ("OP(x0, x1)", [FLOAT, arr(3)], (0,)),
        ("OP(x0, x1)", [arr(2, 1), arr(2, 3)], (0,)),
    ],
    runtime.unbroadcast_to: [
        ("OP(x0, (3,))", [arr(2, 3)], ALL),
        ("OP(x0, (2, 1))", [arr(2, 3)], ALL),
        ("OP(x0, ())", [arr(3)], ALL),
    ],
    runtime.unreduce: [
        ("OP(x0, x1)", [FLOAT, arr(2, 3)], (0,)),
        ("OP(x0, x1, 0)", [arr(3), arr(2, 3)], (0,)),
        ("OP(x0, x1, 1, True)", [arr(2, 1), arr(2, 3)], (0,)),
    ],
    runtime.expand_reduced: [
        ("OP(x0, x1) * x1", [FLOAT, arr(2, 3)], (0,)),
        ("OP(x0, x1, 0) * x1", [arr(3), arr(2, 3)], (0,)),
        ("OP(x0, x1, (0, 2)) * x1", [arr(3), arr(2, 3, 4)], (0,)),
        ("OP(x0, x1, 1, True) * x1", [arr(2, 1), arr(2, 3)], (0,)),
    ],
    runtime.getitem_adjoint: [
        ("OP(x0, x1, 1)", [arr(3), arr(2, 3)], (0,)),
        ("OP(x0, x1, x2)", [arr(3), arr(3), DUPLICATES], (0,)),
    ],
    runtime.concatenate_adjoint: [
        ("OP(x0, [x1, x2])[0]", [arr(5), arr(3), arr(2)], (0,)),
        ("OP(x0, (x1, x2), 1)[1]", [arr(2, 4), arr(2, 3), arr(2, 1)], (0,)),
        ("OP(x0, [x1, x2], None)[1]", [arr(7), arr(3), arr(2, 2)], (0,)),
        ("OP(x0, [x1, x2], 0)[0]", [arr(2, 3), arr(3), arr(3)], (0,)),
    ],
    runtime.concatenate_pieces: [
        ("OP([x0, x1], x2)", [arr(3), arr(2), arr(5)], (0, 1)),
        ("OP([x0, x1], x2, 1)", [arr(2, 3), arr(2), arr(2, 4)], (0, 1)),
        ("OP((x0, x1), x2, None)", [arr(3), arr(2, 2), arr(7)], (0, 1)),
    ],
    runtime.unstack: [
        ("OP(x0, [x1, x1])[1]", [arr(2, 3), arr(3)], (0,)),
        ("OP(x0, (x1, x1, x1), 1)[2]", [arr(2, 3), arr(2)], (0,)),
        ("OP(x0, x1, 1)", [arr(2, 3), arr(3, 2)], (0,)),
        ("OP(x0, x1)", [arr(), FLOAT], (0,)),
    ],
    runtime.stack_pieces: [
        ("OP([x0, x1], [x2, x2])", [arr(3), arr(3), arr(3)], (0, 1)),
        ("OP((x0, x1), [x2, x2], 1)", [arr(3), arr(3), arr(3)], (0, 1)),
        ("OP(x0, x1, 1)", [arr(3, 2), arr(2, 3)], (0,)),
    ],
    runtime.repeat_adjoint: [
        ("OP(x0, x1, 2)", [arr(6), arr(3)], (0,)),
        ("OP(x0, x1, 2)", [arr(12), arr(2, 3)], (0,)),
        ("OP(x0, x1, (1, 0, 2), 0)", [arr(3, 2), arr(3, 2)], (0,)),
        ("OP(x0, x1, 2, -1)", [arr(2, 6), arr(2, 3)], (0,)),
        ("OP(x0, x1, (0, 0), 0)", [arr(0, 2), arr(2, 2)], (0,)),
    ],
    runtime.take_along_axis_adjoint: [
        ("OP(x0, x1, x2, 1)", [arr(2, 3), arr(2, 3), np.array([[2, 0, 2],
                                                         [1, 1, 0]])], (0,)),
        ("OP(x0, x1, x2, None)", [arr(3), arr(4), DUPLICATES], (0,)),
    ],
    runtime.diff_adjoint: [
        ("OP(x0, x1)", [arr(4), arr(5)], (0,)),
        ("OP(x0, x1, 2, 0)", [arr(2, 3), arr(4, 3)], (0,)),
        ("OP(x0, x1, 1, -1, 0.0, np.ones(2))", [arr(6), arr(4)], (0,)),
        ("OP(x0, x1, 1, -1, 0.0, np.ones(2), 2)", [arr(6), arr(4)], (0,)),
        ("OP(x0, x1, 2, 0, np.ones((1, 2)), None, 0)", [arr(1, 2), arr(2, 2)],
         (0,)),
    ],
    runtime.matmul_adjoint_a: RUNTIME_PRODUCT_ROWS_A,
    runtime.dot_adjoint_a: RUNTIME_PRODUCT_ROWS_A + [
        ("OP(x0, x1, x2)", [arr(3), FLOAT, arr(3)], (0, 2)),
        ("OP(x0, x1, x2)", [arr(2, 3, 2), arr(2, 3, 4), arr(4, 2)], (0, 2)),
        ("OP(x0, x1, x2)", [arr(3, 2, 3), arr(3, 4), arr(2, 4, 3)], (0, 2)),
    ],
    runtime.matmul_adjoint_b: RUNTIME_PRODUCT_ROWS_B,
    runtime.dot_adjoint_b: RUNTIME_PRODUCT_ROWS_B + [
        ("OP(x0, x1, x2)", [arr(3), arr(3), FLOAT], (0, 1)),
        ("OP(x0, x1, x2)", [arr(2, 3, 2), arr(2, 3, 4), arr(4, 2)], (0, 1)),
        ("OP(x0, x1, x2)", [arr(3, 2, 3), arr(3, 4), arr(2, 4, 3)], (0, 1)),
    ],
}

# `a op= b` keeps a's shape: b broadcasts into a, never a into b
UPDATE_ROWS = [("OP(x0, x1)", [a, b], ALL) for a, b in [
    (FLOAT, FLOAT), (arr(), arr()), (arr(3), arr(3)), (arr(2, 3), arr(3)),
    (arr(2, 3), arr(2, 1)), (arr(2, 3), FLOAT)]]
for _update in (runtime.iadd, runtime.isub, runtime.imul, runtime.itruediv,
                runtime.ipow, runtime.imod):
    SPECIAL_CASES[_update] = UPDATE_ROWS
SPECIAL_CASES[runtime.imatmul] = [
    ("OP(x0, x1)", [arr(2, 3), arr(3, 3)], ALL),
    ("OP(x0, x1)", [arr(3, 3), arr(3, 3)], ALL)]
SPECIAL_CASES[runtime.item_adjoint] = SPECIAL_CASES[
    runtime.item_adjoint_copy] = [
        ("OP(x0, 1)", [arr(3)], ALL), ("OP(x0, (1, slice(0, 2)))",
                                       [arr(2, 3)], ALL),
        ("OP(x0, ...)", [arr()], ALL)]
SPECIAL_CASES[runtime.iterable] = [("np.sum(np.array(OP(x0)) ** 2)", [a], ALL)
                                   for a in (arr(3), arr(2, 3))]
SPECIAL_CASES[runtime.from_triangle] = SPECIAL_CASES[runtime.to_triangle] = [
    ("OP(x0)", [arr(3, 3)], ALL), ("OP(x0, False)", [arr(3, 3)], ALL),
    ("OP(x0)", [arr(2, 3, 3)], ALL),
    ("np.real(OP(x0 + 1j * x1) * (1.0 - 2.0j))", [arr(3, 3), arr(3, 3)], ALL),
    ("np.imag(OP(x0 * (1.0 + 1j) + 1j * x1, False))", [arr(2, 3, 3),
                                                       arr(2, 3, 3)], ALL)]
SPECIAL_CASES[runtime.saved_product] = product_rows(
    ["OP(x0, x1)"], PRODUCT_SHAPES + BATCHED_SHAPES)
SPECIAL_CASES[runtime.array_like] = [
    ("OP(x0, x1)", [a, arr(3)], (0,)) for a in (FLOAT, arr(3), arr(2, 3))]
SPECIAL_CASES[runtime.iterable_adjoint] = [
    ("np.sum(np.array(OP(x0, x1)) ** 2)", [arr(3), arr(3)], (0,))]
# checkpointing: the sequence a checkpointed loop iterates, copies of a
# loop's state, a function recomputed in the backward sweep
SPECIAL_CASES[checkpoints.checkpointed] = [
    ("np.sum(np.array([v * v for v in OP(x0, snapshots=2)]))", [a], ALL)
    for a in (arr(3), arr(2, 3))]
SPECIAL_CASES[runtime.snapshot] = [
    ("OP((x0, x1))[0] * np.sum(OP((x0, x1))[1])", [a, arr(3)], ALL)
    for a in (FLOAT, arr(2, 3))]
SPECIAL_CASES[runtime.kept] = [
    ("np.sum(np.array(OP([x0, x1, x2], [0, 2])) ** 2)", [a, a, a], ALL)
    for a in (FLOAT, arr(3))] + [
    ("np.sum(np.array(OP([x0, x1], range(2))) ** 2)", [FLOAT, FLOAT], ALL)]
SPECIAL_CASES[runtime.unkept] = [  # (kept's adjoint, differentiated again)
    ("np.sum(np.array(OP([x0, x1], [0, 2], [x2, x2, x2])) ** 2)", [a, a, a],
     (0, 1)) for a in (FLOAT, arr(3))]
SPECIAL_CASES[extend.checkpoint] = [
    ("np.sum(OP(lambda v: np.sin(v * x0))(x1))", [a, arr(3)], ALL)
    for a in (FLOAT, arr(3))]
SPECIAL_CASES[runtime.gradients] = [
    ("OP((x0, x1), (x2, x3))[0] * OP((x0, x1), (x2, x3))[1]",
     [arr(2, 3), arr(3), arr(2, 3), arr(3)], (0, 1)),
    ("OP((x0, x1), (x1, x0))[1]", [FLOAT, FLOAT], (0,))]

for _rows in (rule_rows_reductions.ROWS, rule_rows_shape.ROWS,
              rule_rows_containers.ROWS,
              rule_rows_products.ROWS, rule_rows_linalg.ROWS,
              rule_rows_complex.ROWS, rule_rows_math.ROWS,
              rule_rows_scipy.ROWS):
    SPECIAL_CASES.update(_rows)

# ---- a rule defined here, for the template conventions tested below ----


def difference(x, y):
    return x - y


@registry.adjoint(difference)
def difference_rev(z, x, y):
    d[x] = d[z]
    d[y] = -d[z]


@registry.tangent(difference)
def difference_fwd(z, x, y):
    d[z] = d[x] - d[y]  # two terms: each dropped alone when inactive


SPECIAL_CASES[difference] = [("OP(x0, x1)", [arr(2, 3), arr(2, 3)], ALL)]


def scaled(x, s):
    return x * s


@registry.adjoint(scaled)
def scaled_rev(y, x, s):
    d[x] = d[y] * s  # no d[s], and s not declared constant


@registry.tangent(scaled)
def scaled_fwd(y, x, s):
    d[y] = d[x] * s


SPECIAL_CASES[scaled] = [("OP(x0, 2.0)", [arr(3)], ALL)]

# ---- known engine bugs: case id -> (exception raised, symptom) ----

KNOWN_BUGS = {}  # case id -> (exception, symptom), run as strict xfails

# ---- the cases ----


def describe(arg):
    """An argument as it appears in a case id."""
    if isinstance(arg, np.ndarray) and arg.dtype == bool:
        return f"bool{list(arg.shape)}"
    if isinstance(arg, np.ndarray):
        return str(arg.tolist())
    return repr(arg)


# The list operations of the tapes in generated code, differentiated again in
# forward mode only: they are checked through Hessians of functions with
# loops in test_higher_order.py.
TAPE_RULES = {ssa.method("append"), ssa.method("pop"), builtins.list}
# `runtime.accumulated` adds into its first argument by design (an adjoint
# array a loop owns), so it cannot be probed by repeated calls on the same
# inputs; Hessians of array loops check it (test_optimize.py).
IN_PLACE_RULES = {runtime.accumulated}


def rule_cases():
    """One `pytest.param(rule, expr, args, argnums)` per row of every rule."""
    for rule in registry.all_rules():
        if not rule.differentiable or rule.key in TAPE_RULES | IN_PLACE_RULES:
            continue
        rows = SPECIAL_CASES.get(rule.key) or generated_rows(rule)
        for expr, args, argnums in rows:
            described = ", ".join(map(describe, args))
            case_id = f"{rule.name}: {expr} on {described}"
            marks = ()
            if case_id in KNOWN_BUGS:
                raises, reason = KNOWN_BUGS[case_id]
                marks = pytest.mark.xfail(
                    raises=raises, reason=reason, strict=True
                )
            yield pytest.param(
                rule, expr, args, argnums, id=case_id, marks=marks
            )


RULE_CASES = list(rule_cases())
_SERIAL = itertools.count()


def load_probe(directory, stem, body, nargs, **namespace):
    """Write `def <stem>_<n>(x0, ...): return <body>` to a file and import it.

    `namespace` is bound in the module after import: s2sad resolves names
    when it transforms the function, not when the module is executed. The
    serial number `n` makes every probe's code object unique: s2sad caches
    transformations by code-object equality, which ignores globals, so two
    probes with the same text would share the first one's gradient.
    """
    name = f"{stem}_{next(_SERIAL)}"
    params = ", ".join(f"x{i}" for i in range(nargs))
    path = directory / f"{name}.py"
    path.write_text(
        f"import numpy as np\n\n\ndef {name}({params}):\n    return {body}\n"
    )
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    vars(module).update(namespace)
    return getattr(module, name)


# ---- tests ----


def probe_parts(rule, expr, args, argnums, tmp_path, rng):
    """For one row: its drawn values, the argnums checked, and the body,
    weight W and namespace of its probe, `np.sum((expr) * W)`."""
    values = draw_args(args, rule.domain, rng)
    if argnums is ALL:
        argnums = tuple(i for i, v in enumerate(values) if is_float(v))
    namespace = {"OP": rule.key} if callable(rule.key) else {}
    namespace["runtime"] = runtime
    namespace.update(rule_rows_containers.NAMES)
    primal = load_probe(tmp_path, "primal", expr, len(values), **namespace)
    out = call_or_skip_where_deprecated(primal, *values)
    if type(out) is float:
        body, weight = f"({expr}) * W", float(rng.standard_normal())
    else:
        body = f"np.sum(({expr}) * W)"
        weight = rng.standard_normal(np.shape(out))
    return values, argnums, body, weight, namespace


def loaded_probe(rule, expr, args, argnums, tmp_path, rng):
    """For one row: its probe `np.sum((expr) * W)`, loaded; its drawn
    values; the argnums checked."""
    values, argnums, body, weight, namespace = probe_parts(
        rule, expr, args, argnums, tmp_path, rng)
    probe = load_probe(
        tmp_path, "probe", body, len(values), W=weight, **namespace
    )
    return probe, values, argnums


def _arrays_in(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (list, tuple, dict)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _arrays_in(item)


def test_rules_whose_result_shares_an_arguments_memory_are_known_to():
    # An operation whose result may be an argument, or a view of one, must
    # be one the lowering takes for such (`ssa.may_share`): it then refuses
    # an update in place of either while the other is read (Python's
    # aliasing), where it would otherwise differentiate the result as a new
    # value, silently wrong. Checked on every row of the registry test, for
    # the operations a user's code calls (not s2sad's own helpers, which
    # only generated code calls).
    rng = np.random.default_rng(0)
    unknown = set()
    for case in RULE_CASES:
        rule, expr, args, _ = case.values
        if module_of(rule.key) in ("s2sad.runtime", ) or str(
                module_of(rule.key)).startswith("s2sad.rules") or \
                rule.key in TAPE_RULES | {builtins.max, builtins.min}:
            continue  # (max(a, b) gives back a or b: of numbers, or of
            # one-element arrays, the only ones Python compares)
        values = draw_args(args, rule.domain, rng)
        names = {"np": np, "runtime": runtime, "OP": rule.key,
                 **rule_rows_containers.NAMES,
                 **{f"x{i}": v for i, v in enumerate(values)}}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = eval(expr, names)
        except Exception:  # (a row made for s2sad's call, not Python's)
            continue
        inputs = [a for v in values for a in _arrays_in(v)]
        if any(np.shares_memory(o, a) for o in _arrays_in(out)
               for a in inputs) and not ssa.may_share(rule.key):
            unknown.add(f"{rule.name}: {expr}")
    assert not unknown, sorted(unknown)


@pytest.mark.parametrize("rule, expr, args, argnums", RULE_CASES)
def test_rule_matches_central_differences(
    rule, expr, args, argnums, tmp_path, rng
):
    probe, values, argnums = loaded_probe(rule, expr, args, argnums,
                                          tmp_path, rng)
    s2sad.check_grads(
        probe, values, argnums=argnums, eps=1e-6, rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize("rule, expr, args, argnums", RULE_CASES)
def test_rule_vector_mode_matches_each_direction(
    rule, expr, args, argnums, tmp_path, rng
):
    # vector mode (a leading axis of k directions on every tangent) gives,
    # in each direction, the tangent forward mode gives along it alone:
    # the rule's batched form, or its tangent template run per direction
    probe, values, argnums = loaded_probe(rule, expr, args, argnums,
                                          tmp_path, rng)
    k = 3
    tangents = [runtime.stacked_directions([
        s2sad.api._random_like(values[i], rng) for _ in range(k)])
        for i in argnums]
    vector = derive.derive(probe, argnums, mode="vector", owned=True)
    value, batch = vector(*values, *tangents)
    single = derive.derive(probe, argnums, mode="forward", owned=True)
    assert np.shape(batch)[:1] in ((k,), (1,))
    for i in range(k):
        expected, along = single(*values, *[
            runtime.direction(t, i) for t in tangents])
        assert_same_value(value, expected)
        # (forward mode keeps the tangent of np.float32(x) a float32 after
        # np.float64(...) of it, as NumPy 2 adds a float32 and a Python
        # float; vector mode's arrays of tangents are float64: the two agree
        # to the cast's precision there)
        rtol = 1e-10
        if rule.key in (np.float32, np.float16):
            rtol = 100 * np.finfo(rule.key).eps
        np.testing.assert_allclose(runtime.direction(batch, i), along,
                                   rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("rule, expr, args, argnums", RULE_CASES)
def test_rule_reverse_vector_mode_matches_each_direction(
    rule, expr, args, argnums, tmp_path, rng
):
    # the backward sweep in vector mode (k cotangents of the output at
    # once, as jacrev runs it) gives, in each direction, the cotangents a
    # backward sweep gives for that cotangent alone
    probe, values, argnums = loaded_probe(rule, expr, args, argnums,
                                          tmp_path, rng)
    k = 3
    forward, pull = calls.vjp_functions(probe, values, (), tuple(argnums),
                                        owned=True)
    _, batched = calls.vjp_functions(probe, values, (), tuple(argnums),
                                     owned=True, vector=True)
    seeds = rng.standard_normal(k)
    batch = batched(forward(*values)[1], seeds)
    for i in range(k):
        # (a forward sweep each: a row calling runtime.setitem_in_place
        # itself has a backward sweep that puts its values back in place)
        alone = pull(forward(*values)[1], float(seeds[i]))
        for got, expected in zip(batch, alone):
            assert_close_trees(runtime.direction(got, i), expected)


def assert_close_trees(got, expected):
    """Two cotangents (arrays, numbers, None, or the object arrays and
    dicts of containers' adjoints) agree leaf by leaf."""
    if expected is None or got is None:
        assert got is None or not np.any(np.asarray(got, dtype=complex))
        assert expected is None or not np.any(np.asarray(
            expected, dtype=complex))
        return
    if isinstance(expected, dict):
        assert set(got) == set(expected)
        for key in expected:
            assert_close_trees(got[key], expected[key])
        return
    if np.asarray(expected).dtype == object or isinstance(expected, (
            list, tuple)):
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert_close_trees(a, b)
        return
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected),
                               rtol=1e-10, atol=1e-12)


def assert_same_value(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_every_differentiable_library_rule_is_exercised():
    # Rules that tests register for user functions are not the library's.
    checked = {id(case.values[0]) for case in RULE_CASES}
    missing = [
        rule.name
        for rule in registry.all_rules()
        if rule.differentiable
        and rule.key not in TAPE_RULES | IN_PLACE_RULES
        and id(rule) not in checked
        and (rule.partials or rule.adjoint).fn.__module__.startswith("s2sad.")
    ]
    assert not missing


def test_tables_name_only_differentiable_rules():
    for key in [*SPECIAL_CASES, *SYNTAX]:
        rule = registry.lookup(key)
        assert rule is not None and rule.differentiable, key


def test_case_ids_are_unique_and_cover_the_known_bugs():
    ids = [case.id for case in RULE_CASES]
    assert len(set(ids)) == len(ids)
    assert set(KNOWN_BUGS) <= set(ids)


# ---- non-differentiable functions pass no gradient ----

UNINITIALISED = {np.empty_like}  # output values are arbitrary memory
SAMPLE = np.array([[0.3, -1.2, 2.5], [-0.7, 1.9, 0.1]])


def maps_one_float_array(rule):
    """Whether the key maps one float array (math: one float) to numbers."""
    module = module_of(rule.key)
    sample = 0.3 if module == "math" else SAMPLE
    if module not in ("numpy", "math") or rule.key in UNINITIALISED or \
            deprecated_here(rule.key, sample):
        return False
    try:
        out = rule.key(sample)
    except (TypeError, ValueError):
        return False
    return isinstance(out, (np.ndarray, np.generic, int, float))


ZERO_GRADIENT_RULES = [
    rule
    for rule in registry.all_rules()
    if not rule.differentiable and maps_one_float_array(rule)
]


@pytest.mark.parametrize("rule", ZERO_GRADIENT_RULES, ids=lambda r: r.name)
def test_non_differentiable_function_passes_no_gradient(rule, tmp_path, rng):
    if module_of(rule.key) == "math":
        x, body = float(rng.standard_normal()), "OP(x0) * x0"
    else:
        x, body = rng.standard_normal((2, 3)), "np.sum(OP(x0) * x0)"
    probe = load_probe(tmp_path, "probe", body, 1, OP=rule.key)
    g = s2sad.grad(probe)(x)
    assert np.shape(g) == np.shape(x)
    expected = np.asarray(rule.key(x), dtype=float)
    np.testing.assert_array_equal(g, np.broadcast_to(expected, np.shape(x)))


def test_a_subtracted_tangent_term_is_kept_when_the_other_is_inactive(
        tmp_path):
    first = load_probe(tmp_path, "first", "OP(x0, 2.0) * 3.0", 1,
                       OP=difference)
    second = load_probe(tmp_path, "second", "OP(2.0, x0) * 3.0", 1,
                        OP=difference)
    assert s2sad.jvp(first, (1.0,), (1.0,)) == (-3.0, 3.0)
    assert s2sad.jvp(second, (1.0,), (1.0,)) == (3.0, -3.0)


def test_a_tangent_term_mixing_two_tangents_is_refused_at_registration():
    def mixed(z, x, y):
        d[z] = (d[x] + d[y]) * 2.0

    with pytest.raises(TypeError, match="one term per input"):
        registry.tangent(difference)(mixed)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_a_differentiated_value_where_a_rule_has_no_derivative_is_refused(
        tmp_path, mode):
    probe = load_probe(tmp_path, "probe", "np.sum(OP(x0, x0))", 1, OP=scaled)
    with pytest.raises(s2sad.errors.UnsupportedCallError,
                       match="no derivative with respect to its argument `s`"):
        s2sad.check_grads(probe, [np.ones(3)], modes=(mode,))


# ---- a rule handles every argument it accepts, or the call is refused ----


def test_a_template_that_never_reads_a_parameter_is_refused_at_registration():
    def ignores_mode(y, x, mode="raise"):
        d[x] = d[y]

    with pytest.raises(TypeError, match="never reads mode"):
        registry.adjoint(difference)(ignores_mode)


def test_an_annotated_parameter_need_not_be_read():
    def handled(y, x, out: registry.only(None) = None,
                order: registry.via_output = "K"):
        d[x] = d[y]

    template = registry.Template(handled)
    registry._validate(template, partials=False)
    assert list(template.restricted) == ["out"]
    assert template.via_output == {"order"}


@pytest.mark.parametrize("mode", ["rev", "fwd"])
@pytest.mark.parametrize("call, refused", [
    ("np.cumsum(x0, dtype=np.int64)", "only dtype=None or a float or"),
    ("np.linspace(x0, 2.0, 3, dtype=int)", "only dtype=None or a float or"),
    ("np.sum(x0, dtype=np.float64)", None),
    ("np.max(x0 * np.arange(4.0).reshape(2, 2), initial=-1.0)", None),
    ("np.sum(x0, None, np.float64)", None),
    ("np.var(x0, where=x0 > 0)", "does not handle its argument `where=`"),
    ("np.sin(x0, where=x0 > 0)", "does not handle its argument `where=`"),
    ("np.average(x0, None, None, False, True)", "does not handle its "
     "positional argument 5"),
])
def test_an_argument_a_rule_does_not_handle_is_refused_where_it_is_written(
        tmp_path, mode, call, refused):
    probe = load_probe(tmp_path, "probe", f"np.sum({call})", 1)
    if refused is None:  # the value handled: a correct derivative
        s2sad.check_grads(probe, [np.ones((2, 2))], modes=(mode,))
        return
    with pytest.raises(s2sad.errors.UnsupportedCallError) as info:
        s2sad.check_grads(probe, [np.ones((2, 2))], modes=(mode,))
    assert refused in str(info.value)
    assert str(info.value).startswith(f"{probe.__code__.co_filename}:5: ")


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_a_value_known_at_run_time_is_checked_when_the_derivative_runs(
        tmp_path, mode):
    probe = load_probe(tmp_path, "probe", "np.sum(np.cumsum(x0, dtype=x1))", 2)
    x = np.arange(3.0)
    s2sad.check_grads(probe, [x, np.float64], argnums=(0,), modes=(mode,))
    with pytest.raises(s2sad.errors.UnsupportedCallError) as info:
        s2sad.check_grads(probe, [x, np.int64], argnums=(0,), modes=(mode,))
    assert str(info.value).startswith(
        f"{probe.__code__.co_filename}:5: the derivative rule for `np.cumsum`"
        " handles only dtype=None or a float or complex dtype, not ")


# ---- a declared zero derivative proves itself: the value does not move ----
# An input a rule gives no derivative (non_differentiable, a partial None,
# Rule.constants) must leave the value piecewise constant: perturbed by a
# small step at random points, the value stays put (it may jump, across a
# floor or a comparison, but never moves by a small nonzero amount). Only
# float inputs are perturbed: shapes, axes and dtypes are not.

STEP = 1e-7


def moves_continuously(call, values, i, rng):
    """Whether a small step in float input i moves call(*values) by a small
    nonzero amount (a jump, or no change, is piecewise constant)."""
    base = np.asarray(call(*values), dtype=float)
    direction = rng.standard_normal(np.shape(values[i]))
    for scale in (STEP, STEP / 8):
        moved = list(values)
        moved[i] = values[i] + scale * direction
        if type(values[i]) is float:
            moved[i] = float(moved[i])
        change = np.abs(np.asarray(call(*moved), dtype=float) - base)
        change = change[np.isfinite(change)]
        if not np.any((change > 0) & (change < 1e3 * scale)):
            return False
    return True


def float_call(rule):
    """(args, call) for a non-differentiable rule NumPy or math accepts
    float arguments for (1 to 3 of them), or None."""
    if module_of(rule.key) not in ("numpy", "math", "_operator", "builtins") \
            or rule.key in UNINITIALISED or deprecated_here(rule.key, 0.3):
        return None
    for n in (1, 2, 3):
        for shape in ((2, 3), None):
            args = [draw("real", shape, np.random.default_rng(n))
                    for _ in range(n)]
            try:
                out = rule.key(*args)
                np.asarray(out, dtype=float)
            except Exception:
                continue
            if isinstance(out, str):  # (text: no number to move)
                return None
            return shape, n
    return None


NON_DIFFERENTIABLE = [
    pytest.param(rule, *float_call(rule), id=rule.name)
    for rule in registry.all_rules()
    if not rule.differentiable and float_call(rule) is not None]


@pytest.mark.parametrize("rule, shape, n", NON_DIFFERENTIABLE)
def test_a_non_differentiable_function_is_piecewise_constant(rule, shape, n,
                                                             rng):
    for _ in range(5):
        values = [draw("real", shape, rng) for _ in range(n)]
        for i in range(n):
            assert not moves_continuously(rule.key, values, i, rng), (
                f"{rule.name} changes continuously with argument {i}: it "
                "has a derivative; give it a rule")


def constant_inputs(rule):
    """The template parameters of `rule` it gives no derivative for."""
    if rule.partials is not None:
        returned = rule.partials.body[-1].value
        partials = returned.elts if hasattr(returned, "elts") else [returned]
        return {p for p, e in zip(rule.partials.params[1:], partials)
                if getattr(e, "value", 0) is None
                and type(e).__name__ == "Constant"}
    return set(rule.constants)


def constant_cases():
    for rule in registry.all_rules():
        constants = constant_inputs(rule) if rule.differentiable else ()
        if not constants or not callable(rule.key):
            continue
        template = rule.partials or rule.adjoint
        for expr, args, _ in SPECIAL_CASES.get(rule.key) or generated_rows(
                rule):
            call = ast.parse(expr, mode="eval").body
            if not (isinstance(call, ast.Call) and isinstance(
                    call.func, ast.Name) and call.func.id == "OP"):
                continue
            names = [a.id if isinstance(a, ast.Name) else None
                     for a in call.args]
            keywords = {k.arg: k.value.id if isinstance(k.value, ast.Name)
                        else None for k in call.keywords}
            try:
                bound = template.signature.bind(None, *names, **keywords)
            except TypeError:
                continue
            others = {v for p, v in bound.arguments.items()
                      if p not in constants}
            for param in constants:
                name = bound.arguments.get(param)
                if name and name.startswith("x") and name not in others:
                    yield pytest.param(rule, expr, args, int(name[1:]),
                                       id=f"{rule.name}: {param} of {expr}")


@pytest.mark.parametrize("rule, expr, args, i", list(constant_cases()))
def test_an_input_a_rule_holds_constant_is_piecewise_constant(
        rule, expr, args, i, rng):
    call = eval(f"lambda {', '.join(f'x{k}' for k in range(len(args)))}: "
                f"{expr}", {"OP": rule.key, "np": np, "runtime": runtime,
                            **rule_rows_containers.NAMES})
    for _ in range(5):
        values = draw_args(args, rule.domain, rng)
        if not is_float(values[i]):
            continue
        assert not moves_continuously(call, values, i, rng), (
            f"{rule.name}: {expr} changes continuously with x{i}, which "
            "the rule holds constant")


# ---- every keyword of a NumPy function: handled right, or refused ----
# Each rule of a NumPy function is called (on its first row) with each
# keyword of the function's signature (for ufuncs, the ufunc keywords) at
# values other than what the row passes: the derivative must match central
# differences with the value equal to NumPy's, or s2sad must refuse the
# call with an error located at the probe's line.

UFUNC_KEYWORDS = ["out", "where", "casting", "order", "dtype", "subok"]
KEYWORD_VALUES = {
    "out": ["None", "np.empty(np.shape(x0))"],
    "where": ["True", "x0 > 0"],
    "casting": ["'unsafe'", "'no'"],
    "order": ["'F'", "'C'"],
    "dtype": ["np.float64", "np.int64", "None"],
    "subok": ["False"],
    "keepdims": ["True"],
    "axis": ["0", "-1"],
    "mode": ["'wrap'", "'clip'"],
    "copy": ["False", "True"],
    "initial": ["-1.0"],
    "ddof": ["1"],
    "like": ["np.empty(0)"],
    "norm": ["'ortho'", "'forward'"],
    "n": ["2"],
    "kind": ["'stable'"],
    "stable": ["True"],
    "endpoint": ["False"],
    "deg": ["True"],
    "tol": ["1e6"],
    "hermitian": ["True"],
    "full_matrices": ["False"],
    "compute_uv": ["False"],
}


def numpy_keywords(key):
    if isinstance(key, np.ufunc):
        return UFUNC_KEYWORDS
    try:
        params = inspect.signature(key).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                 p.KEYWORD_ONLY)]


def keyword_cases():
    for rule in registry.all_rules():
        if not rule.differentiable or not callable(rule.key) or not (
                module_of(rule.key) or "").startswith("numpy"):
            continue
        for expr, args, argnums in SPECIAL_CASES.get(rule.key) or \
                generated_rows(rule):
            call = ast.parse(expr, mode="eval").body
            if isinstance(call, ast.Call) and isinstance(
                    call.func, ast.Name) and call.func.id == "OP":
                break
        else:
            continue
        try:
            bound = inspect.signature(rule.key).bind(*call.args, **{
                k.arg: k.value for k in call.keywords})
            passed = set(bound.arguments)
        except (TypeError, ValueError):
            passed = {k.arg for k in call.keywords}
        for keyword in numpy_keywords(rule.key):
            if keyword in passed:
                continue
            for value in KEYWORD_VALUES.get(keyword, ["None"]):
                with_keyword = ast.Call(call.func, call.args, call.keywords + [
                    ast.keyword(keyword, ast.parse(value, mode="eval").body)])
                text = ast.unparse(with_keyword)
                yield pytest.param(rule, text, args, argnums,
                                   id=f"{rule.name}: {text}")


@pytest.mark.parametrize("rule, expr, args, argnums", list(keyword_cases()))
def test_every_keyword_is_handled_or_refused(rule, expr, args, argnums,
                                             tmp_path, rng):
    values = draw_args(args, rule.domain, rng)
    if argnums is ALL:
        argnums = tuple(i for i, v in enumerate(values) if is_float(v))
    namespace = {"OP": rule.key, "runtime": runtime}
    primal = load_probe(tmp_path, "primal", expr, len(values), **namespace)
    try:
        with np.errstate(all="ignore"):
            out = call_or_skip_where_deprecated(primal, *values)
        weight = rng.standard_normal(np.shape(out))
        np.sum(np.asarray(out) * weight).astype(float)
    except Exception:  # NumPy refuses the call, or it gives no numbers
        pytest.skip("not a valid call of the NumPy function")
    probe = load_probe(tmp_path, "probe", f"np.sum(({expr}) * W)",
                       len(values), W=weight, **namespace)
    try:
        value, _ = s2sad.value_and_grad(probe, argnums=argnums)(*values)
        assert value == probe(*values)
        s2sad.check_grads(probe, values, argnums=argnums, eps=1e-6,
                          rtol=1e-6, atol=1e-8)
    except s2sad.errors.S2SADError as exc:
        assert str(exc).startswith(f"{probe.__code__.co_filename}:5: "), exc


def test_a_template_parameter_named_as_the_functions_is_in_its_position():
    # np.sum(x, 0, np.float32) passes dtype third: a template with keepdims
    # third would read it as keepdims. Parameters NumPy takes by keyword
    # only are keyword-only in the template, so passing them by position
    # is refused (as it is where NumPy takes them positionally too).
    wrong = []
    for rule in registry.all_rules():
        try:
            function = inspect.signature(rule.key).parameters
        except (TypeError, ValueError):
            continue
        for template in {rule.adjoint, rule.tangent, rule.partials} - {None}:
            params = list(template.signature.parameters.values())[1:]
            for name in set(function) & {p.name for p in params}:
                at = _position(params, name)
                if at is not None and at != _position(function.values(),
                                                      name):
                    wrong.append(f"{template.name}: {name}")
    assert not wrong


def _position(params, name):
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return positional.index(name) if name in positional else None

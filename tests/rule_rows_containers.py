"""Rows for the rules of containers and in-place updates: Python's list
built-ins, and the runtime helpers s2sad's SSA form writes `xs.append(v)`,
`xs.pop(i)` and `y[i] = v` as (see tests/test_rules.py for the format)."""

import builtins
import collections
import dataclasses

import s2sad

from s2sad import runtime, ssa
from tests.rule_inputs import ALL, FLOAT, arr

Pair = collections.namedtuple("Pair", "a b")


@dataclasses.dataclass
class Duo:
    a: object
    b: object


def scaled_square(p, y):
    """A function the rows close over a value with (runtime.closure)."""
    return p * y * y


# names the rows read besides OP, np and runtime
NAMES = {"Pair": Pair, "Duo": Duo, "scaled_square": scaled_square,
         "calls": s2sad.calls}

# a closure of x0, as generated code makes a nested function
_CLOSURE = "runtime.closure(scaled_square, (x0,), 'g')"

ROWS = {
    # the derivative functions of a call of a function value (a closure
    # over x0) that the call does not differentiate: its forward function
    # binds x0; or that it does (slots holding calls.FUNCTION, -1): the
    # call passes x0 to it
    s2sad.calls.vjp_functions: [
        (f"OP({_CLOSURE}, (x1,), (), (0,))[0](x1)[0]", [a, a], ALL)
        for a in (FLOAT, arr(3))] + [
        (f"OP({_CLOSURE}, (x1,), (), (-1, 0))[0](x0, x1)[0]",
         [arr(3), arr(3)], ALL)],
    s2sad.calls.to_forward: [
        (f"np.sum(OP((x1 * 2.0,), (0,), {_CLOSURE}, {_CLOSURE})[0]) + "
         f"np.sum(OP((x1,), (-1,), {_CLOSURE}, {_CLOSURE})[0])",
         [arr(3), arr(3)], (1,))],
    s2sad.calls.to_function: [
        (f"np.sum(OP((x1 * 2.0,), (0,), {_CLOSURE}, {_CLOSURE})[0])",
         [arr(3), arr(3)], (1,))],
    runtime.appended: [
        ("np.stack(OP([x0, x1], x0 * 2.0))", [arr(3), arr(3)], ALL),
        ("np.stack(OP((x0,), x1))", [arr(2), arr(2)], ALL),
    ],
    # in place, into a list the function made (s2sad.inplace, which makes
    # it only in a gradient: a forward sweep would make the zero tangent
    # of a list without tangents after the append)
    runtime.appended_owned: [
        ("np.stack(OP([x0, x1], x0 * 2.0))", [arr(3), arr(3)], ALL),
        ("np.sum(np.array(OP(OP([x0, x1], x1 * x0), x1)) ** 2)",
         [FLOAT, FLOAT], ALL),
    ],
    # in place too, and taken off again by the backward sweep when it
    # reaches the append: the list read as it was before it (an item of it
    # read at an index before the append, `x[t - 1]`)
    runtime.appended_in_place: [
        ("np.stack(OP([x0, x1], x0 * 2.0))", [arr(3), arr(3)], ALL),
        ("np.sum(np.array(OP(OP([x0, x1], x1 * x0), x1)) ** 2)",
         [FLOAT, FLOAT], ALL),
    ],
    runtime.popped: [
        ("np.stack(OP([x0, x1, 2.0 * x0], 1)[0])", [arr(3), arr(3)], ALL),
        ("OP([x0, x1], -1)[1] * x0", [arr(3), arr(3)], ALL),
        ("OP([x0, x1])[1] + OP([x1, x0], 0)[1]", [arr(2), arr(2)], ALL),
    ],
    runtime.inserted: [
        ("np.stack(OP([x0, x1], -1, 3.0 * x1))", [arr(2), arr(2)], ALL),
        ("np.stack(OP([x0], 0, x1))", [arr(3), arr(3)], ALL),
        ("np.stack(OP([x0, x1], -2, x0))", [arr(2), arr(2)], ALL),
    ],
    runtime.setitem: [
        ("OP(x0, 1, x1)", [arr(3), FLOAT], ALL),
        ("OP(x0, slice(1, None), x1)", [arr(3), arr(2)], ALL),
        ("OP(x0, (0, slice(None)), x1)", [arr(2, 3), arr(3)], ALL),
        ("OP(x0, slice(None, 2), x1)", [arr(3), arr()], ALL),
        ("OP(x0, 0, x1)", [arr(2, 3), arr(1)], ALL),
    ],
    # in place, into an array the function made (s2sad.inplace)
    runtime.setitem_owned: [
        ("OP(x0 * 1.0, 1, x1)", [arr(3), FLOAT], ALL),
        ("OP(x0 * 1.0, (0, slice(None)), x1)", [arr(2, 3), arr(3)], ALL),
        ("np.sum(OP(x0 * x0, slice(1, None), x1) ** 2)", [arr(3), arr(2)],
         ALL),
    ],
    runtime.setitem_in_place: [
        ("OP(x0 * 1.0, 1, x1, runtime.overwritten(x0 * 1.0, 1))",
         [arr(3), FLOAT], ALL),
        ("np.sum(OP(x0 * x0, slice(1, None), x1, "
         "runtime.overwritten(x0 * x0, slice(1, None))) ** 2)",
         [arr(3), arr(2)], ALL),
    ],
    runtime.tree_like: [
        ("OP(x0, x1)", [arr(3), arr(3)], (0,)),
        ("np.stack(OP(runtime.sequence([x0, x1]), [x0, x1]))",
         [arr(2), arr(2)], ALL),
    ],
    runtime.tree_adjoint: [
        ("OP(x0, x1)", [arr(3), arr(3)], (0,)),
        ("np.stack(list(OP((x0, x1), (x1, x0))))", [arr(2), arr(2)], ALL),
    ],
    builtins.list: [
        ("np.stack(OP((x0, x1)))", [arr(3), arr(3)], ALL),
    ],
    builtins.tuple: [
        ("np.stack(OP([x0, 2.0 * x1]))", [arr(3), arr(3)], ALL),
    ],
    builtins.sum: [
        ("OP([x0, x1, x0 * x1])", [arr(3), arr(3)], ALL),
        ("OP([x0, x1], x0)", [arr(3), FLOAT], ALL),
        ("OP((x0, x1))", [arr(2, 3), arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
    ],
}
ROWS[runtime.sequence] = [
    ("np.stack(list(OP([x0, x1])))", [arr(3), arr(3)], ALL),
]
ROWS[runtime.concatenated] = [
    ("np.stack(OP([x0, x1], [x0 * x1]))", [arr(3), arr(3)], ALL),
    ("np.stack(OP((x0,), (x1, 2.0 * x0)))", [arr(2), arr(2)], ALL),
]
ROWS[runtime.repeated] = [
    ("np.stack(OP([x0, 2.0 * x1], 3))", [arr(3), arr(3)], ALL),
    ("np.stack(OP((x0 * x1,), 2)) + np.stack(OP([x1], 0) + [x0, x0])",
     [arr(2), arr(2)], ALL),
]
ROWS[runtime.repeated_adjoint] = [
    ("np.stack(OP([x0, x1, 2.0 * x0, x1 * x1], [0.0, 0.0], 2))",
     [arr(3), arr(3)], ALL),
    ("np.stack(OP(runtime.sequence([x0 * x1]), [1.0], 1))",
     [arr(2), arr(2)], ALL),
]
ROWS[runtime.keep_last] = [
    ("OP(x0, x1, [0, 0, 1])", [arr(3), arr(4)], (0,)),
    ("OP(x0, x1, 1)", [FLOAT, arr(4)], (0,)),
    ("OP(x0, x1, (slice(None), [2, 2]))", [arr(2, 2), arr(2, 3)], (0,)),
]
# a nested function bound to the values it reads (closure conversion)
ROWS[runtime.closure] = [
    ("OP(lambda a, b, t: a * b + t, (x0, x1), 'f')(2.0)", [arr(3), arr(3)],
     ALL),
    ("OP(lambda a, t: np.sin(a * t), (x0,), 'g')(x1)", [arr(3), FLOAT], ALL),
]
ROWS[runtime.bound] = [
    ("np.stack(OP(runtime.closure(lambda a, b: a, (x0, 2.0 * x1), 'h')))",
     [arr(3), arr(3)], ALL),
]

# s2sad's own transformations inside differentiated code, of closures over
# the differentiated values
ROWS[s2sad.grad] = [
    ("OP(lambda t: np.sin(t) * x0 * t)(x1)", [FLOAT, FLOAT], ALL),
    ("np.sum(OP(lambda t: np.sum(np.sin(t) * x0))(x1))", [arr(3), arr(3)],
     ALL),
]
ROWS[s2sad.value_and_grad] = [
    ("OP(lambda t: np.sin(t) * x0 * t)(x1)[1] * x0", [FLOAT, FLOAT], ALL),
]
ROWS[s2sad.jacfwd] = [
    ("np.sum(OP(lambda v: np.sin(v) * x0[0])(x1))", [arr(2), arr(3)], ALL),
]
ROWS[s2sad.jacrev] = [
    ("np.sum(OP(lambda v: np.sin(v) * x0[0])(x1))", [arr(2), arr(3)], ALL),
]
ROWS[s2sad.jacobian] = [
    ("np.sum(OP(lambda v: np.sin(v) * x0[1])(x1))", [arr(2), arr(3)], ALL),
    ("np.sum(OP(lambda v: np.sum(v) * x0)(x1))", [arr(3), arr(2)], ALL),
]
ROWS[s2sad.elementwise_grad] = [
    ("np.sum(OP(lambda v: np.sin(v) * x0[0])(x1))", [arr(2), arr(3)], ALL),
]
# the adjoint of runtime.gradients: cotangents x0, x1 summed to x2, x3's
# shapes
ROWS[runtime.ungradients] = [
    ("OP((x0, x1), (x2, x3))[0] * OP((x0, x1), (x2, x3))[1]",
     [arr(2, 3), arr(3), arr(2, 3), arr(3)], (0, 1)),
    ("np.sum(OP((x0, x1), (x2, x3))[0])", [arr(2, 3), FLOAT, arr(1, 3),
                                          FLOAT], (0, 1)),
]
ROWS[s2sad.hessian] = [
    ("np.sum(OP(lambda v: np.sum(np.sin(v) ** 3) * x0[0])(x1))",
     [arr(2), arr(2)], ALL),
]
ROWS[runtime.iterable_tangent] = [
    ("OP(x0, x1)", [arr(3), arr(3)], (0,)),
    ("np.stack(OP([x0, x1], (x1, x0))) + len(OP(x0, {'a': x1}))",
     [arr(3), arr(3)], ALL),
]
ROWS[runtime.spread_over] = [
    ("np.stack(list(OP(x0 * 2.0, [x1, x1])))", [arr(3), arr(3)], ALL),
    ("OP(x0 * 2.0, x1)", [arr(3), arr(2, 3)], ALL),
]
ROWS[runtime.spread_adjoint] = [
    ("OP(runtime.sequence([x0, 2.0 * x0]), [x1, x1])", [arr(3), arr(3)],
     ALL),
    ("OP(x0 * 2.0, x1)", [arr(2, 3), arr(2, 3)], ALL),
]
ROWS[runtime.record] = [
    ("OP((x0, x1), Pair).a * OP((x1, x0), Duo).b", [arr(3), arr(3)], ALL),
    ("np.stack(OP((x0, 2.0 * x1), Pair))", [arr(3), arr(3)], ALL),
]
ROWS[runtime.replaced] = [
    ("OP(Pair(x0, x1), 'a', x1 * x0).a + OP(Duo(x0, x1), 'b', x0).b",
     [arr(3), arr(3)], ALL),
]
ROWS[runtime.record_adjoint] = [
    ("np.stack(list(OP(runtime.sequence([x0, x1]), Pair)))",
     [arr(3), arr(3)], ALL),
    ("np.stack(list(OP(runtime.fields_adjoint([x0, x1], Duo), Duo)))",
     [arr(3), arr(3)], ALL),
]
ROWS[runtime.fields_adjoint] = [
    ("np.stack(list(runtime.record_adjoint(OP((x0, x1), Duo), Duo)))",
     [arr(3), arr(3)], ALL),
    ("np.stack(list(OP([x0, x1], Pair)))", [arr(3), arr(3)], ALL),
]
ROWS[runtime.attribute_adjoint] = [
    ("np.stack(list(runtime.record_adjoint(OP(x0, Duo(x1, x1), 'a'), Duo)))",
     [arr(3), arr(3)], ALL),
    ("np.stack(list(OP(x0, Pair(x1, x1), 'b')))", [arr(3), arr(3)], ALL),
]
ROWS[runtime.adjoint_attribute] = [
    ("OP(runtime.fields_adjoint([x0, 2.0 * x0], Duo), Duo(x1, x1), 'b')",
     [arr(3), arr(3)], ALL),
    ("OP(runtime.sequence([x0, x1]), Pair(x1, x0), 'a')", [arr(3), arr(3)],
     ALL),
]
ROWS[runtime.replaced_adjoint] = [
    ("np.stack(list(runtime.record_adjoint(OP(runtime.fields_adjoint("
     "[x0, x1], Duo), Duo(x1, x0), 'a'), Duo)))", [arr(3), arr(3)], ALL),
    ("np.stack(list(OP(runtime.sequence([x0, x1]), Pair(x0, x1), 'b')))",
     [arr(3), arr(3)], ALL),
]
ROWS[ssa.method("item")] = [
    ("x0.item() * x0", [arr()], ALL),
    ("np.reshape(x0, (1, 1)).item() + x0[0].item()", [arr(1)], ALL),
]
# a Python float's gradient (a 0-d array of another library stays one)
ROWS[runtime.as_float] = [
    ("OP(x0 * x0)", [FLOAT], ALL),
    ("OP(np.sum(x0) * x1)", [arr(3), FLOAT], ALL),
]
ROWS[runtime.copy_of] = [
    ("OP(x0) * x0", [arr(2, 3)], ALL),
    ("np.sum(OP(x0, 'C', True) ** 2)", [arr(3)], ALL),
]
ROWS[runtime.real_input] = [
    ("OP(x0 * x1, 'f')", [arr(3), arr(3)], ALL),
]
# x.T, x.real, x.imag: an array's attribute, or a record's field so named
ROWS[runtime.attribute_tangent] = [
    ("OP(x0, x1, 'T')", [arr(2, 3), arr(2, 3)], (0,)),
    ("OP(x0, x1, 'real')", [arr(3), arr(3)], (0,)),
    ("OP(Pair(x0, 2.0 * x0), Pair(x1, x1), 'b')", [arr(3), arr(3)], (0,)),
]
ROWS[runtime.attribute_cotangent] = [
    ("OP(x0, x1, 'T')", [arr(2, 3), arr(3, 2)], (0,)),
    ("OP(x0, x1, 'real')", [arr(3), arr(3)], (0,)),
    ("np.stack(list(OP(x0, Pair(x1, x1), 'b')))", [arr(3), arr(3)], (0,)),
]

"""IEEE arithmetic for the statements s2sad adds (derivative statements).

Python numbers raise where NumPy gives inf or nan: `0.5 / 0.0`,
`0.0 ** -0.5`, `math.log(0.0)`, and `(-1.0) ** 0.5` is a complex number. A
derivative must not depend on which of the two a value happens to be, so
every division, power and `math` call of a filled rule template is rewritten
to give what the same computation gives in NumPy (on arrays or
np.float64), while the user's own statements keep Python's semantics:

    a / b            ->  a / b if b else np.divide(a, b)        (numbers)
                         runtime.divide(a, b)                   (maybe arrays)
    a ** b           ->  a ** b if a > 0.0 else runtime.power(a, b)  (numbers)
                         runtime.power(a, b)                    (maybe arrays)
    math.log(a)      ->  math.log(a) if a > 0.0 else np.log(a)
    math.log(2.0)    ->  0.6931471805599453                (constants)
    np.where(c, a, b) -> a if c else b                          (numbers)

The numbers' form costs one test when nothing is special (no call); the
runtime helpers try Python's operator first (a call, but no NumPy call on
Python numbers). The test reads a name, so a non-trivial `b` (or `a`,
`math.log`'s argument) is kept in a temporary first. Nothing is rewritten where it cannot raise: a
denominator the statement itself divided by (`math.log(b)` raises on b <= 0,
and `a / b`, `a // b`, `a % b` on a zero b when a is a Python number, so a
rule's template for that statement divides by a b that is not zero, or is
a NumPy value), an
operand already a NumPy value (NumPy's own operators then run), a
denominator that is a non-zero constant, a power with a constant integral
non-negative exponent (it raises only on overflow), a power whose constant
base and exponent make the test constant, and `math` functions defined on
every finite number (`sin`, `exp`, `cosh`, ...: a derivative statement calls
them where the primal's own call succeeded). The rewritten forms are
differentiable again (np.divide, np.power and NumPy's functions have rules,
a conditional expression is differentiated per branch), so derivatives of
generated code are IEEE in turn.
"""

import math
import numbers
import operator

import gast
import numpy as np

from s2sad import trees

# `math` functions with a restricted domain: the test under which the math
# call returns a float (its NumPy twin gives nan or inf elsewhere).
_DOMAINS = {
    math.sqrt: ((gast.GtE, 0.0),),
    math.log: ((gast.Gt, 0.0),),
    math.log2: ((gast.Gt, 0.0),),
    math.log10: ((gast.Gt, 0.0),),
    math.log1p: ((gast.Gt, -1.0),),
    math.acosh: ((gast.GtE, 1.0),),
    math.asin: ((gast.GtE, -1.0), (gast.LtE, 1.0)),
    math.acos: ((gast.GtE, -1.0), (gast.LtE, 1.0)),
    math.atanh: ((gast.Gt, -1.0), (gast.Lt, 1.0)),
}
_NUMPY_TWIN = {math.sqrt: np.sqrt, math.log: np.log, math.log2: np.log2,
               math.log10: np.log10, math.log1p: np.log1p,
               math.acosh: np.arccosh, math.asin: np.arcsin,
               math.acos: np.arccos, math.atanh: np.arctanh,
               math.pow: np.power}

# NumPy functions that give Python objects (ints, tuples), not NumPy values
_PYTHON_RESULTS = {np.shape, np.ndim, np.size, np.isscalar}
_ARITHMETIC = {operator.add, operator.sub, operator.mul, operator.truediv,
               operator.pow, operator.neg, operator.pos}


def numpy_values(assignments):
    """The targets of `(target, function, operands)` assignments that hold
    NumPy values (np.float64 or arrays) whatever the inputs: results of
    NumPy's functions, and arithmetic on one. `operands` are the names an
    assignment reads."""
    found = set()
    for target, fn, operands in assignments:  # in program order
        module = getattr(fn, "__module__", None) or ""
        if isinstance(fn, np.ufunc) or (module.split(".")[0] == "numpy"
                                        and fn not in _PYTHON_RESULTS):
            found.add(target)
        elif fn in _ARITHMETIC and found.intersection(operands):
            found.add(target)
    return found


# math.log raises at 0 whatever the type of its argument; `a / b` (and
# `//`, `%`) raises at a zero Python number b when a is a Python number too
# (NumPy's a gives inf, and b's zero reaches the derivative)
_LOGARITHMS = (math.log, math.log2, math.log10)
_DIVISIONS = (operator.truediv, operator.floordiv, operator.mod)
_PYTHON_ARITHMETIC = (operator.add, operator.sub, operator.mul,
                      operator.truediv, operator.pow, operator.neg,
                      operator.pos)


def _is_python_number(operand, names):
    """Is the SSA operand a Python number: a constant int, float or bool,
    or a variable among `names`?"""
    if hasattr(operand, "name"):
        return operand.name in names
    return type(getattr(operand, "value", None)) in (int, float, bool)


def python_numbers(assignments, known=()):
    """The targets of `(target, function, operands)` assignments (SSA,
    in program order) that hold Python numbers whatever the inputs: `math`
    results, and arithmetic on Python numbers (constants, `known` names)."""
    found = set(known)
    for target, fn, operands in assignments:
        if getattr(fn, "__module__", None) == "math" and fn is not \
                math.prod or (  # (math.prod of arrays is an array)
                fn in _PYTHON_ARITHMETIC and operands and all(
                    _is_python_number(o, found) for o in operands)):
            found.add(target)
    return found


def nonzero_operand(fn, operands, python_numbers=()):
    """The operand (of `operands`, a statement's) that a call of `fn`
    returning shows is not a zero Python number, or None: a logarithm's
    argument; a division's denominator when its numerator is a Python
    number (a constant or one of `python_numbers`)."""
    if fn in _LOGARITHMS and operands:
        return operands[0]
    if fn in _DIVISIONS and len(operands) == 2 and _is_python_number(
            operands[0], python_numbers):
        return operands[1]
    return None


# kinds of value an expression may have
_NUMBER = "number"  # a Python number (or a rank-0 value): may raise
_NUMPY = "numpy"  # a NumPy scalar or array: IEEE already
_UNKNOWN = "unknown"  # a Python number or an array


class Lowering:
    """Rewrites the expressions of one filled template.

    Args:
        numbers: names known to hold rank-0 values (operands, their
            adjoints or tangents, template locals assigned numbers).
        arrays: names known to hold NumPy values (`numpy_values`).
        d_names: the names `d[...]` became: never kept in a temporary
            (forward mode drops the terms of inputs without a tangent).
        resolve: a name of the filled code -> the object it stands for, or
            None.
        numpy_name, runtime_name: callables giving the names generated code
            reaches NumPy and s2sad's runtime by.
        temp: callable giving a fresh temporary name.
        nonzero: a name known not to hold a zero Python number (see
            `nonzero_operand`), or None.
        complex_numbers: whether a number may be complex (a Python float
            to a fractional power is): a power's test then reads its
            base's real part (`a.real > 0.0`; `a > 0.0` raises).
    """

    def __init__(self, numbers, arrays, d_names, resolve, numpy_name,
                 runtime_name, temp, nonzero=None, complex_numbers=False):
        self.nonzero = nonzero
        self.complex_numbers = complex_numbers
        self.numbers = set(numbers)
        self.arrays = set(arrays)
        self.d_names = set(d_names)
        self.resolve = resolve
        self.numpy_name = numpy_name
        self.runtime_name = runtime_name
        self.temp = temp
        self.hoisted = []  # statements to run before the expression

    def statement(self, stmt):
        """Lower `name = value` (and any other statement's expressions);
        returns the statements to emit in its place."""
        self.hoisted = []
        if isinstance(stmt, gast.Assign):
            stmt.value = self.expr(stmt.value)
            target = stmt.targets[0]
            if isinstance(target, gast.Name) and self.kind(
                    stmt.value) == _NUMBER:
                self.numbers.add(target.id)
        return self.hoisted + [stmt]

    def expression(self, node):
        """Lower an expression; returns (statements before it, expression)."""
        self.hoisted = []
        node = self.expr(node)
        return self.hoisted, node

    # -- classification --

    def kind(self, node):
        if isinstance(node, gast.Constant):
            return _NUMBER if isinstance(node.value, numbers.Number) \
                else _UNKNOWN
        if isinstance(node, gast.Name):
            if node.id in self.arrays:
                return _NUMPY
            return _NUMBER if node.id in self.numbers else _UNKNOWN
        if isinstance(node, gast.UnaryOp):
            return self.kind(node.operand)
        if isinstance(node, (gast.BinOp, gast.IfExp)):
            parts = [self.kind(n) for n in (
                (node.left, node.right) if isinstance(node, gast.BinOp)
                else (node.body, node.orelse))]
            if isinstance(node, gast.BinOp) and _NUMPY in parts:
                return _NUMPY
            return _NUMBER if all(p == _NUMBER for p in parts) else _UNKNOWN
        if isinstance(node, gast.Compare):
            parts = [self.kind(n) for n in [node.left] + node.comparators]
            return _NUMBER if all(p == _NUMBER for p in parts) else _UNKNOWN
        if isinstance(node, gast.Call):
            fn = self.callee(node)
            if getattr(fn, "__module__", None) == "math" or fn in _NUMPY_TWIN:
                return _NUMBER
            if isinstance(fn, np.ufunc):
                return _NUMPY
        return _UNKNOWN

    def callee(self, call):
        """The object a call's function expression names, or None."""
        return self._object(call.func)

    def _object(self, node):
        if isinstance(node, gast.Name):
            return self.resolve(node.id)
        if isinstance(node, gast.Attribute):
            owner = self._object(node.value)
            return None if owner is None else getattr(owner, node.attr, None)
        return None

    # -- rewriting --

    def expr(self, node):
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, gast.expr):
                setattr(node, field, self.expr(value))
            elif isinstance(value, list):
                setattr(node, field, [self.expr(v) if isinstance(
                    v, gast.expr) else v for v in value])
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div):
            return self.divide(node)
        if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Pow):
            return self.power(node)
        if isinstance(node, gast.Call) and not node.keywords:
            fn = self.callee(node)
            if fn in _DOMAINS and len(node.args) == 1:
                return self.math_call(node, fn)
            if fn is math.pow and len(node.args) == 2:
                return self.power(node, *node.args)
            if fn is np.where and len(node.args) == 3 and all(
                    self.kind(a) == _NUMBER for a in node.args):
                test, body, orelse = node.args
                constant = _constant(test)
                if constant is not None:
                    return body if constant else orelse
                return gast.IfExp(test, body, orelse)
        return node

    def divide(self, node):
        a, b = node.left, node.right
        kinds = {self.kind(a), self.kind(b)}
        denominator = _constant(b)
        if _NUMPY in kinds or (denominator is not None and denominator != 0) \
                or isinstance(b, gast.Name) and b.id == self.nonzero:
            return node
        if kinds == {_NUMBER} and not self.reads_d(b):
            b = self.atom(b)
            return gast.IfExp(b, gast.BinOp(a, gast.Div(), _clone(b)),
                              self.numpy_call("divide", a, b))
        return self.numpy_call("divide", a, b, helper=True)

    def power(self, node, a=None, b=None):
        """`a ** b` (or math.pow(a, b) when `a` and `b` are given)."""
        call = a is not None
        if not call:
            a, b = node.left, node.right
        kinds = {self.kind(a), self.kind(b)}
        exponent, base = _constant(b), _constant(a)
        if _NUMPY in kinds and not call:
            return node
        if exponent is not None and not call and float(
                exponent).is_integer() and exponent >= 0:
            return node  # raises only on overflow
        if isinstance(exponent, int) and exponent < 0:
            b = gast.Constant(float(exponent), None)  # NumPy refuses ints
            if not call:
                node = gast.BinOp(a, gast.Pow(), b)
            else:
                node.args[1] = b
        if kinds != {_NUMBER} or self.reads_d(a):
            return self.numpy_call("power", a, b, helper=True)
        test = self.power_test(a, exponent, call)
        if test is True:
            return node
        a = self.atom(a)
        if call:
            node.args[0] = a
        else:
            node.left = a
        base = gast.Attribute(_clone(a), "real", gast.Load()) \
            if self.complex_numbers else _clone(a)
        if test is None:
            test = gast.Compare(base, [gast.Gt()],
                                [gast.Constant(0.0, None)])
        else:
            test = test(base)
        # (Python first: a negative number to a fractional power is complex)
        return gast.IfExp(test, node, self.numpy_call("power", a, b,
                                                      helper=True))

    @staticmethod
    def power_test(a, exponent, call):
        """When `a ** exponent` is a float: True (always), a callable
        making the test from `a`, or None (the default test, a > 0)."""
        base = _constant(a)
        if base is not None and exponent is not None:
            try:
                value = math.pow(base, exponent) if call else base ** exponent
            except (ArithmeticError, ValueError):
                return None
            return True if isinstance(value, float) else None
        if exponent is None:
            return None
        if float(exponent).is_integer():  # negative: only 0 raises
            return lambda a: a
        if exponent > 0:
            return lambda a: gast.Compare(a, [gast.GtE()],
                                          [gast.Constant(0.0, None)])
        return None

    def math_call(self, node, fn):
        (arg,) = node.args
        value = _constant(arg)
        if value is not None:
            try:
                return gast.Constant(fn(value), None)  # math.log(e): 1.0
            except (ArithmeticError, ValueError):
                return self.twin(node, fn)
        if self.reads_d(arg):
            return self.twin(node, fn)
        arg = node.args[0] = self.atom(arg)
        ops, bounds = zip(*_DOMAINS[fn])
        test = gast.Compare(_clone(arg), [op() for op in ops],
                            [gast.Constant(v, None) for v in bounds]) \
            if len(ops) == 1 else gast.Compare(
                gast.Constant(bounds[0], None), [_flip(ops[0])(), ops[1]()],
                [_clone(arg), gast.Constant(bounds[1], None)])
        return gast.IfExp(test, node, self.twin(gast.Call(
            _clone(node.func), [_clone(arg)], []), fn))

    def twin(self, node, fn):
        twin = _NUMPY_TWIN[fn]
        return gast.Call(gast.Attribute(gast.Name(
            self.numpy_name(), gast.Load(), None, None), twin.__name__,
            gast.Load()), node.args, [])

    def numpy_call(self, name, *args, helper=False):
        """`np.<name>(args)`, or `runtime.<name>(args)` for the helper."""
        module = self.runtime_name() if helper else self.numpy_name()
        return gast.Call(gast.Attribute(gast.Name(
            module, gast.Load(), None, None), name, gast.Load()),
            [_clone(a) for a in args], [])

    def atom(self, node):
        """`node` itself when a name or constant, else a temporary kept in
        a statement before the expression."""
        if isinstance(node, (gast.Name, gast.Constant)):
            return node
        name = self.temp()
        self.hoisted.append(gast.Assign(
            [gast.Name(name, gast.Store(), None, None)], node, None))
        if self.kind(node) == _NUMBER:
            self.numbers.add(name)
        return gast.Name(name, gast.Load(), None, None)

    def reads_d(self, node):
        return any(isinstance(n, gast.Name) and n.id in self.d_names
                   for n in gast.walk(node))


def over(g, reciprocal):
    """`g * reciprocal` as a division, when `reciprocal` is 1 / y in one of
    the forms above (`1.0 / y`, `runtime.divide(1.0, y)`, `np.divide(1.0,
    y)`, `1.0 / y if y else np.divide(1.0, y)`); else None. `g / y` rounds
    once, in the dtype of g and y together, where `1.0 / y` of a float32 y
    would round in float32 first (NEP 50) what the function divided in
    float64. (The conditional form repeats g: only for a name or constant.)
    """
    node = reciprocal
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Div) and \
            _constant(node.left) == 1:
        return gast.BinOp(g, gast.Div(), node.right)
    if _is_divide_call(node):
        return gast.Call(node.func, [g, node.args[1]], [])
    if isinstance(node, gast.IfExp) and isinstance(g, (
            gast.Name, gast.Constant)) and isinstance(
                node.body, gast.BinOp) and isinstance(
                    node.body.op, gast.Div) and _constant(
                        node.body.left) == 1 and _is_divide_call(node.orelse):
        return gast.IfExp(node.test, gast.BinOp(g, gast.Div(), node.body.right),
                          gast.Call(node.orelse.func, [
                              _clone(g), node.orelse.args[1]], []))
    return None


def _is_divide_call(node):
    """Is `node` `<module>.divide(1, y)` (np.divide or runtime.divide)?"""
    return isinstance(node, gast.Call) and isinstance(
        node.func, gast.Attribute) and node.func.attr == "divide" and len(
            node.args) == 2 and not node.keywords and _constant(
                node.args[0]) == 1


def _flip(op):
    return {gast.GtE: gast.LtE, gast.Gt: gast.Lt}[op]


def _constant(node):
    """The value of a numeric constant expression (`-1.0`, `1.5 - 1`), or
    None."""
    if isinstance(node, gast.Constant) and isinstance(
            node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        value = _constant(node.operand)
        return None if value is None else -value
    if isinstance(node, gast.BinOp) and isinstance(node.op, (
            gast.Add, gast.Sub, gast.Mult)):
        left, right = _constant(node.left), _constant(node.right)
        if left is None or right is None:
            return None
        return {gast.Add: left + right, gast.Sub: left - right,
                gast.Mult: left * right}[type(node.op)]
    if isinstance(node, gast.Compare) and len(node.ops) == 1:
        left, right = _constant(node.left), _constant(node.comparators[0])
        if left is None or right is None:
            return None
        op = type(node.ops[0])
        table = {gast.Eq: left == right, gast.NotEq: left != right,
                 gast.Lt: left < right, gast.LtE: left <= right,
                 gast.Gt: left > right, gast.GtE: left >= right}
        return table.get(op)
    return None


_clone = trees.clone

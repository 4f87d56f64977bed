"""Random programs to test s2sad's gradients against central differences.

`programs(...)` is a hypothesis strategy for the source text of a module that
defines `def prog(x, y):`. The inputs are two floats, or (with `arrays=True`)
two NumPy arrays of length 3, in which case the output is `np.sum(...)` of an
elementwise expression so that it is a scalar. Each construct family can be
switched off or on:

- always: assignments, tuple assignments and augmented assignments of
  arithmetic (`+ - *`, division by `(c + v * v)` with `c > 0`, powers with
  small positive constant exponents);
- `functions`: `math`/NumPy functions on safe domains (`sin`, `cos`, `tanh`,
  `exp(tanh(v))`, `log(1 + v * v)`, `sqrt(1 + v * v)`, ...), `abs`,
  `max`/`min`, and for arrays reductions, indexing, `np.dot`, `@`,
  `np.where` and `np.maximum`;
- `branches`: `if`/`elif`/`else` (with early returns outside loops),
  conditional expressions, `and`/`or`/`not`;
- `loops`: `for i in range(k)` and `n = 0; while n < k: ...; n += 1` with
  constant `k` from 0 to 4, nested at most twice; every program then has one;
- `break_continue`: `if cond: break` and `if cond: continue` in loops.

Programs have at most about 12 statements and nest at most 2 deep.

Values stay tame: an interval analysis bounds every variable (unrolling loops
over their constant trip counts) and wraps the right-hand side of any
assignment whose bound would exceed `LIMIT` in `tanh` or `sin`, so central
differences at eps 1e-6 stay accurate. `cases(...)` draws a program together
with an input point in [-2, 2] and rejects (with `assume`) points where the
program is not smooth nearby: some branch decision or kink side (recorded by
running an instrumented copy of the program) changes under a 1e-4 step along
an input coordinate, or central differences with eps 1e-4 and 1e-6 disagree.

`ProgramFiles` writes programs to importable modules (s2sad reads source with
`inspect`), and `check` compares `s2sad.grad` with central differences via
`s2sad.check_grads`, raising `ProgramFailure` with the program's source; with
`optimizer=True` it also checks that the optimiser changes no result: the
gradient, a JVP and a VJP with `optimize=False` equal the optimised ones to
the last few bits.
"""

import importlib.util
import itertools
import math
import os
import traceback

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import s2sad
from s2sad import api

LIMIT = 4.0  # bound on |value| of every variable after every assignment
MAX_STATEMENTS = 12
MAX_DEPTH = 2  # nesting of compound statements
MAX_TRIPS = 4
LENGTH = 3  # of the input arrays
RTOL, ATOL = 1e-6, 1e-8  # check_grads' defaults; never loosened
# Optimised and unoptimised code compute the same operations, except that
# `x ** 2` becomes `x * x` (pow may differ from x * x in the last bit).
SAME_RTOL = 1e-13

HEADER = "import math\n\nimport numpy as np\n\n\n"
LOCALS = ("a", "b", "c", "d", "e", "f")
FOR_INDICES = ("i", "j")  # by loop nesting level
WHILE_COUNTERS = ("n", "m")
ELEMENTS = (("u", "v"), ("p", "q"))  # of arrays iterated over
SLICES = ("1:", ":2", "::2")  # of length 2
CONSTANTS = (1.0, 0.5, 2.0, -1.0, 1.5, 3.0, -0.5, 0.25, 2, 3)
EXPONENTS = (2, 3, 0.5, 1.5, 2.5)
OFFSETS = (1.0, 0.5, 2.0)  # of guarded denominators `c + v * v`
SQUASHES = {"float": ("np.tanh", "math.tanh", "np.sin", "math.sin"),
            "array": ("np.tanh", "np.sin")}

# Operator precedence, lowest first, for rendering with minimal parentheses.
(_TERNARY, _OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _POWER,
 _ATOM) = range(10)


# ---- expressions ----

class _Node:
    """An expression: renders itself, plain or instrumented, and bounds |.|.

    Instrumented text calls `_t(v)` (record the truth of `v`), `_sign(v)`
    (record the sign of a kink's argument) and `_pair(a, b)` (record `a > b`
    for max/min); each returns its argument(s) unchanged.
    """

    prec = _ATOM

    def text(self, inst):
        raise NotImplementedError

    def wrapped(self, min_prec, inst):
        text = self.text(inst)
        return text if self.prec >= min_prec else f"({text})"

    def bound(self, env):
        raise NotImplementedError


class Name(_Node):
    def __init__(self, name):
        self.name = name

    def text(self, inst):
        return self.name

    def bound(self, env):
        return env[self.name]


class Const(_Node):
    def __init__(self, value):
        self.value = value
        self.prec = _UNARY if value < 0 else _ATOM

    def text(self, inst):
        return repr(self.value)

    def bound(self, env):
        return abs(self.value)


class BinOp(_Node):
    _PRECS = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT,
              "//": _PRODUCT, "%": _PRODUCT, "@": _PRODUCT, "**": _POWER}

    def __init__(self, op, left, right):
        self.op, self.left, self.right = op, left, right
        self.prec = self._PRECS[op]

    def text(self, inst):
        if self.op == "**":  # right-associative
            left = self.left.wrapped(_ATOM, inst)
            right = self.right.wrapped(_POWER, inst)
        else:
            left = self.left.wrapped(self.prec, inst)
            right = self.right.wrapped(self.prec + 1, inst)
        return f"{left} {self.op} {right}"

    def bound(self, env):
        left, right = self.left.bound(env), self.right.bound(env)
        if self.op in "+-":
            return left + right
        if self.op == "*":
            return left * right
        if self.op == "@":
            return LENGTH * left * right
        if self.op == "**":
            return left ** right
        if self.op == "//":  # of counters, by positive constants
            return left
        if self.op == "%":
            return right
        raise ValueError(f"no bound for unguarded {self.op}")


class Unary(_Node):
    """`-operand` or `+operand`."""

    prec = _UNARY

    def __init__(self, op, operand):
        self.op, self.operand = op, operand

    def text(self, inst):
        return self.op + self.operand.wrapped(_UNARY, inst)

    def bound(self, env):
        return self.operand.bound(env)


class _Shaped(_Node):
    """A node rendered as a composite `form`, with a bound of its own."""

    def __init__(self, form):
        self.form = form
        self.prec = form.prec

    def text(self, inst):
        return self.form.text(inst)


class GuardedDiv(_Shaped):
    """`num / (offset + den * den)`: the denominator is at least `offset`."""

    def __init__(self, num, den, offset):
        super().__init__(BinOp("/", num, guard(den, offset)))
        self.num, self.offset = num, offset

    def bound(self, env):
        return self.num.bound(env) / self.offset


class Power(_Shaped):
    """`base ** p` for an int `p`, `(1.0 + base * base) ** p` for a float."""

    def __init__(self, base, exponent):
        if isinstance(exponent, float):
            base = guard(base, 1.0)
        super().__init__(BinOp("**", base, Const(exponent)))
        self.base, self.exponent = base, exponent

    def bound(self, env):
        return self.base.bound(env) ** self.exponent


class VarPower(_Shaped):
    """`base ** tanh(...)`, `base` a positive constant or a guard."""

    def __init__(self, base, exponent):
        super().__init__(BinOp("**", base, exponent))
        self.base = base

    def bound(self, env):
        if isinstance(self.base, Const):
            return max(self.base.value, 1.0 / self.base.value)
        return self.base.bound(env)  # at least 1, to a power in [-1, 1]


def guard(value, offset):
    """`offset + value * value`, which is at least `offset`."""
    return BinOp("+", Const(offset), BinOp("*", value, value))


class Call(_Node):
    """`callee(args, keywords)`; `kink` is "sign" (abs) or "pair" (max,
    min); `keywords` are texts like "axis=0"."""

    def __init__(self, callee, args, bound, kink=None, keywords=()):
        self.callee, self.args, self._bound, self.kink = (
            callee, args, bound, kink)
        self.keywords = keywords

    def text(self, inst):
        args = ", ".join(arg.wrapped(_TERNARY, inst) for arg in self.args)
        if inst and self.kink == "sign":
            args = f"_sign({args})"
        elif inst and self.kink == "pair":
            args = f"*_pair({args})"
        return f"{self.callee}({', '.join((args,) + self.keywords)})"

    def bound(self, env):
        return self._bound(*(arg.bound(env) for arg in self.args))


class Subscript(_Node):
    """`name[index]`: an int constant or a loop counter, or a slice."""

    def __init__(self, name, index):
        self.name, self.index = name, index

    def text(self, inst):
        return f"{self.name}[{self.index}]"

    def bound(self, env):
        return env[self.name]


class Where(_Node):
    def __init__(self, cond, left, right):
        self.cond, self.left, self.right = cond, left, right

    def text(self, inst):
        parts = (self.cond, self.left, self.right)
        return "np.where({}, {}, {})".format(
            *(part.wrapped(_TERNARY, inst) for part in parts))

    def bound(self, env):
        return max(self.left.bound(env), self.right.bound(env))


class IfExp(_Node):
    prec = _TERNARY

    def __init__(self, cond, left, right):
        self.cond, self.left, self.right = cond, left, right

    def text(self, inst):
        return (f"{self.left.wrapped(_OR, inst)} if "
                f"{self.cond.wrapped(_OR, inst)} else "
                f"{self.right.wrapped(_TERNARY, inst)}")

    def bound(self, env):
        return max(self.left.bound(env), self.right.bound(env))


class AndOr(_Node):
    """`(cond and left) or right`: `left` where cond holds, else `right`."""

    prec = _OR

    def __init__(self, cond, left, right):
        self.cond, self.left, self.right = cond, left, right

    def text(self, inst):
        left = self.left.wrapped(_NOT, inst)
        if inst:
            left = f"_t({left})"  # a zero `left` also selects `right`
        return (f"({self.cond.wrapped(_AND, inst)} and {left}) or "
                f"{self.right.wrapped(_AND, inst)}")

    def bound(self, env):
        return max(self.left.bound(env), self.right.bound(env))


class OrValue(_Node):
    """`left or right`: `left` unless it is zero."""

    prec = _OR

    def __init__(self, left, right):
        self.left, self.right = left, right

    def text(self, inst):
        left = self.left.wrapped(_AND, inst)
        if inst:
            left = f"_t({left})"
        return f"{left} or {self.right.wrapped(_AND, inst)}"

    def bound(self, env):
        return max(self.left.bound(env), self.right.bound(env))


# ---- conditions ----

class Compare(_Node):
    prec = _COMPARE

    def __init__(self, op, left, right):
        self.op, self.left, self.right = op, left, right

    def text(self, inst):
        text = (f"{self.left.wrapped(_SUM, inst)} {self.op} "
                f"{self.right.wrapped(_SUM, inst)}")
        return f"_t({text})" if inst else text


class BoolCond(_Node):
    def __init__(self, op, left, right):
        self.op, self.left, self.right = op, left, right
        self.prec = _AND if op == "and" else _OR

    def text(self, inst):
        return (f"{self.left.wrapped(self.prec, inst)} {self.op} "
                f"{self.right.wrapped(self.prec + 1, inst)}")


class Not(_Node):
    prec = _NOT

    def __init__(self, operand):
        self.operand = operand

    def text(self, inst):
        return "not " + self.operand.wrapped(_NOT, inst)


# ---- statements ----

def _join(envs):
    """The bounds that hold after any of the paths that reached `envs`."""
    joined = {}
    for env in envs:
        for name, value in env.items():
            joined[name] = max(joined.get(name, 0.0), value)
    return joined


def _lines(stmts, indent, inst):
    return [line for stmt in stmts for line in stmt.lines(indent, inst)]


def _squashable(bound, squashed):
    """Whether a bound calls for squashing (NaN bounds count as too big)."""
    return not squashed and not bound <= LIMIT


class Assign:
    """`a = v`, `a, b = v, w`, or (`chained`) `a = b = v`."""

    def __init__(self, targets, values, squashes, chained=False):
        self.targets, self.values, self.squashes = targets, values, squashes
        self.chained = chained
        self.squashed = [False] * len(values)

    def rhs(self, k, inst):
        text = self.values[k].wrapped(_TERNARY, inst)
        if self.squashed[k]:
            return f"{self.squashes[k]}({text})"
        return text

    def lines(self, indent, inst):
        rhs = ", ".join(self.rhs(k, inst) for k in range(len(self.values)))
        separator = " = " if self.chained else ", "
        return [f"{indent}{separator.join(self.targets)} = {rhs}"]

    def interpret(self, env, changed):
        bounds = [value.bound(env) for value in self.values]
        for k, bound in enumerate(bounds):
            if _squashable(bound, self.squashed[k]):
                self.squashed[k] = changed[0] = True
            bounds[k] = 1.0 if self.squashed[k] else bound
        if self.chained:
            bounds *= len(self.targets)
        env.update(zip(self.targets, bounds))


class AugAssign:
    """`target op= operand`; squashed: `target = tanh(target op operand)`.

    For `/` the operand is `guard(value, offset)`; for `**` a `Const`.
    """

    def __init__(self, target, op, operand, squash, offset=None):
        self.target, self.op, self.operand = target, op, operand
        self.squash, self.offset = squash, offset
        self.squashed = False

    def lines(self, indent, inst):
        if self.squashed:
            value = BinOp(self.op, Name(self.target), self.operand)
            return [f"{indent}{self.target} = {self.squash}"
                    f"({value.text(inst)})"]
        return [f"{indent}{self.target} {self.op}= "
                f"{self.operand.text(inst)}"]

    def interpret(self, env, changed):
        old = env[self.target]
        if self.op == "/":
            bound = old / self.offset
        else:
            bound = BinOp(self.op, Const(old), self.operand).bound(env)
        if _squashable(bound, self.squashed):
            self.squashed = changed[0] = True
        env[self.target] = 1.0 if self.squashed else bound


class If:
    def __init__(self, branches, orelse):
        self.branches, self.orelse = branches, orelse

    def lines(self, indent, inst):
        out = []
        for k, (cond, body) in enumerate(self.branches):
            keyword = "elif" if k else "if"
            out.append(f"{indent}{keyword} {cond.text(inst)}:")
            out += _lines(body, indent + "    ", inst)
        if self.orelse:
            out.append(f"{indent}else:")
            out += _lines(self.orelse, indent + "    ", inst)
        return out

    def interpret(self, env, changed):
        envs = [_interpret(body, dict(env), changed)
                for _, body in self.branches]
        envs.append(_interpret(self.orelse or [], dict(env), changed))
        env.update(_join(envs))


class For:
    """`for target in iterable:` over `trips` items: a `range`, or an array,
    `enumerate` or `zip` of arrays. `counters` maps the int targets to their
    largest value, `elements` the float targets to the arrays they are
    elements of."""

    def __init__(self, target, iterable, trips, counters, elements, body):
        self.target, self.iterable, self.trips = target, iterable, trips
        self.counters, self.elements, self.body = counters, elements, body

    def lines(self, indent, inst):
        return ([f"{indent}for {self.target} in {self.iterable}:"]
                + _lines(self.body, indent + "    ", inst))

    def interpret(self, env, changed):
        def enter(inner):
            inner.update(self.counters)
            for name, array in self.elements.items():
                inner[name] = inner[array]
        _interpret_loop(self.body, self.trips, env, changed, enter)


class While:
    """`counter = 0; while counter < trips [and extra]: ...`."""

    def __init__(self, counter, trips, extra, body, increment_first):
        self.counter, self.trips, self.extra = counter, trips, extra
        self.body, self.increment_first = body, increment_first

    def lines(self, indent, inst):
        test = f"{self.counter} < {self.trips}"
        if self.extra is not None:
            test += f" and {self.extra.wrapped(_NOT, inst)}"
        inner = indent + "    "
        increment = [f"{inner}{self.counter} += 1"]
        body = _lines(self.body, inner, inst)
        body = increment + body if self.increment_first else body + increment
        return [f"{indent}{self.counter} = 0", f"{indent}while {test}:"] + body

    def interpret(self, env, changed):
        env[self.counter] = self.trips
        _interpret_loop(self.body, self.trips, env, changed, lambda _: None)


class Pass:
    def lines(self, indent, inst):
        return [indent + "pass"]

    def interpret(self, env, changed):
        pass


class Jump:
    """`break` or `continue`."""

    def __init__(self, keyword):
        self.keyword = keyword

    def lines(self, indent, inst):
        return [indent + self.keyword]

    def interpret(self, env, changed):
        pass


class Return(Jump):
    """`return value + local + ...`, in `np.sum(...)` for array programs;
    `value` is squashed like an assignment's."""

    def __init__(self, value, names, squash, arrays):
        super().__init__("return")
        self.value, self.names, self.squash = value, names, squash
        self.arrays = arrays
        self.squashed = False

    def lines(self, indent, inst):
        value = self.value
        if self.squashed:
            value = Call(self.squash, [value], None)
        for name in self.names:
            value = BinOp("+", value, Name(name))
        if self.arrays:
            value = Call("np.sum", [value], None)
        return [f"{indent}return {value.text(inst)}"]

    def interpret(self, env, changed):
        if _squashable(self.value.bound(env), self.squashed):
            self.squashed = changed[0] = True


def _interpret(stmts, env, changed):
    for stmt in stmts:
        stmt.interpret(env, changed)
    return env


def _interpret_loop(body, trips, env, changed, enter):
    # Joining after every trip covers zero trips, `break` and `continue`.
    for _ in range(trips):
        inner = dict(env)
        enter(inner)
        env.update(_join([env, _interpret(body, inner, changed)]))


class Program:
    """A generated `prog(x, y)`: its source and its instrumented source."""

    def __init__(self, body):
        self.body = body
        self._tame()
        self.source = HEADER + self._text(inst=False)
        self.instrumented = HEADER + self._text(inst=True)

    def _text(self, inst):
        return "\n".join(["def prog(x, y):"] + _lines(self.body, "    ", inst)
                         + [""])

    def _tame(self):
        # Squashing only ever lowers bounds, so this reaches a fixpoint.
        changed = [True]
        while changed[0]:
            changed[0] = False
            _interpret(self.body, {"x": 2.0, "y": 2.0}, changed)


# ---- the generator ----

class _Scope:
    """What a program point can read: value variables (name -> "float" or
    "array") and loop counters (name -> largest value), and loop state.

    `owned` holds the array variables bound to arrays the program created,
    which augmented assignment (in place for arrays) may update: never the
    caller's `x` and `y`, an alias, or an array being iterated over. Array
    assignments build a new array (`a = x` is never generated) except
    chained ones, whose targets are not owned.
    """

    def __init__(self, variables, counters=None, loop_level=0, owned=()):
        self.variables = variables
        self.counters = counters or {}
        self.loop_level = loop_level
        self.owned = set(owned)

    @property
    def in_loop(self):
        return self.loop_level > 0

    def copy(self):
        return _Scope(dict(self.variables), dict(self.counters),
                      self.loop_level, self.owned)

    def inner_loop(self, counters, elements=()):
        """The scope of a loop body with these counters and float element
        variables."""
        inner = self.copy()
        inner.counters.update(counters)
        inner.variables.update(dict.fromkeys(elements, "float"))
        inner.loop_level += 1
        return inner


def _ends_in_jump(body):
    return bool(body) and isinstance(body[-1], Jump)


def _has_continue(stmts):
    """Whether `stmts` continue the loop they are the body of."""
    for stmt in stmts:
        if isinstance(stmt, Jump) and stmt.keyword == "continue":
            return True
        if isinstance(stmt, If) and any(
                _has_continue(body) for body in
                [body for _, body in stmt.branches] + [stmt.orelse or []]):
            return True
    return False


class _Generator:
    def __init__(self, draw, arrays, functions, branches, loops,
                 break_continue):
        self.draw = draw
        self.arrays, self.functions, self.branches = arrays, functions, branches
        self.loops, self.break_continue = loops, break_continue
        kind = "array" if arrays else "float"
        self.kinds = {"x": kind, "y": kind}  # a name keeps its kind
        self.kinds.update(dict.fromkeys(
            itertools.chain.from_iterable(ELEMENTS), "float"))
        self.budget = MAX_STATEMENTS

    def choose(self, options):
        return self.draw(st.sampled_from(options))

    def one_in(self, n):
        return self.draw(st.integers(1, n)) == n

    # -- statements --

    def program(self):
        kind = "array" if self.arrays else "float"
        scope = _Scope({"x": kind, "y": kind})
        forced = self.draw(st.integers(0, 2)) if self.loops else None
        body = self.block(scope, 0, forced_loop=forced)
        body.append(self.output(scope))
        return Program(body)

    def block(self, scope, depth, forced_loop=None):
        count = self.draw(st.integers(1, 6 if depth == 0 else 3))
        stmts = []
        for k in range(count):
            if forced_loop is not None and k == min(forced_loop, count - 1):
                self.budget -= 1
                stmts.append(self.loop(scope, depth))
            elif k == 0 or self.budget > 0:  # no block is empty
                stmts.append(self.statement(scope, depth))
        return stmts

    def statement(self, scope, depth):
        self.budget -= 1
        kinds = ["assign", "augassign", "tuple"]
        compound = depth < MAX_DEPTH and self.budget >= 1
        if self.branches and compound:
            kinds.append("if")
        if self.loops and compound:
            kinds += ["loop", "loop"]
        if self.break_continue and scope.in_loop:
            kinds.append("jump")
        kind = self.choose(kinds)
        if kind == "assign":
            return self.assign(scope, 2 if self.one_in(6) else 1)
        if kind == "tuple":
            return self.assign(scope, 2, chained=False)
        if kind == "augassign":
            return self.augassign(scope)
        if kind == "if":
            return self.if_statement(scope, depth)
        if kind == "loop":
            return self.loop(scope, depth)
        cond = self.cond(scope, 1)
        return If([(cond, [Jump(self.choose(["break", "continue"]))])], None)

    def assign(self, scope, count, chained=True):
        """`count` targets: a tuple assignment, or chained `a = b = v`."""
        targets = [self.target(scope)]
        if count == 2:
            targets.append(self.target(scope, exclude=targets[0]))
        chained = chained and count == 2
        if chained:  # with targets of one kind
            targets[1:] = [t for t in targets[1:]
                           if self.kinds[t] == self.kinds[targets[0]]]
        depth = 2 if count == 1 or chained else 1
        values = [self.expr(scope, self.kinds[t], depth, new=True)
                  for t in targets[:1 if chained else count]]
        scope.variables.update({t: self.kinds[t] for t in targets})
        for target in targets:
            if self.kinds[target] == "array" and not chained:
                scope.owned.add(target)
            else:
                scope.owned.discard(target)
        return Assign(targets, values, [self.squash(t) for t in targets],
                      chained and len(targets) == 2)

    def target(self, scope, exclude=None):
        """An assignment target: a defined variable or a new local (which
        the caller defines in `scope` once the value is generated)."""
        existing = sorted(scope.variables, key=lambda n: (n in "xy", n))
        fresh = [n for n in LOCALS if n not in scope.variables][:1]
        target = self.choose([n for n in existing + fresh if n != exclude])
        if target not in self.kinds:
            self.kinds[target] = (self.choose(["array", "float"])
                                  if self.arrays else "float")
        return target

    def squash(self, target):
        return self.choose(SQUASHES[self.kinds[target]])

    def augassign(self, scope):
        existing = sorted(
            (n for n, k in scope.variables.items()
             if k == "float" or n in scope.owned),
            key=lambda n: (n in "xy", n))
        if not existing:
            return self.assign(scope, 1)
        target = self.choose(existing)
        kind = self.kinds[target]
        op = self.choose(["+", "-", "*", "/", "**"])
        if op == "**":
            return AugAssign(target, op, Const(self.choose([2, 3])),
                             self.squash(target))
        operand_kind = kind
        if kind == "array" and self.draw(st.booleans()):
            operand_kind = "float"  # broadcast
        value = self.expr(scope, operand_kind, 1)
        if op == "/":
            offset = self.choose(OFFSETS)
            return AugAssign(target, op, guard(value, offset),
                             self.squash(target), offset)
        return AugAssign(target, op, value, self.squash(target))

    def if_statement(self, scope, depth):
        branches = []
        fallthrough = []
        for _ in range(1 + self.draw(st.integers(0, 2))):
            cond = self.cond(scope, 1)
            inner = scope.copy()
            body = self.branch_body(inner, depth)
            branches.append((cond, body))
            if not _ends_in_jump(body):
                fallthrough.append(inner)
        orelse = None
        if self.draw(st.booleans()):
            inner = scope.copy()
            orelse = self.branch_body(inner, depth)
            if not _ends_in_jump(orelse):
                fallthrough.append(inner)
        else:
            fallthrough.append(scope.copy())
        if fallthrough:  # else what follows is unreachable
            defined = set.intersection(*(set(s.variables)
                                         for s in fallthrough))
            scope.variables.update({n: self.kinds[n] for n in defined})
            scope.owned = set.intersection(*(s.owned for s in fallthrough))
        return If(branches, orelse)

    def branch_body(self, scope, depth):
        if self.one_in(8):
            return [Pass()]
        body = self.block(scope, depth + 1)
        if not scope.in_loop and self.one_in(4):
            self.budget -= 1
            body.append(self.output(scope))
        return body

    def loop(self, scope, depth):
        if self.draw(st.booleans()):
            return self.for_loop(scope, depth)
        counter = WHILE_COUNTERS[scope.loop_level]
        trips = self.draw(st.integers(0, MAX_TRIPS))
        extra = None
        if self.branches and self.one_in(4):
            extra = self.cond(scope, 0)
        body = self.block(scope.inner_loop({counter: trips}), depth + 1)
        first = _has_continue(body) or self.draw(st.booleans())
        return While(counter, trips, extra, body, first)

    def for_loop(self, scope, depth):
        index = FOR_INDICES[scope.loop_level]
        first, second = ELEMENTS[scope.loop_level]
        kinds = ["range", "range_from", "range_down"]
        if self.arrays:
            kinds += ["array", "enumerate", "zip"]
        kind = self.choose(kinds)
        stop = self.draw(st.integers(0, MAX_TRIPS))
        counters, elements = {}, {}
        if kind == "range":
            iterable, trips = f"range({stop})", stop
            counters[index] = max(stop - 1, 0)
        elif kind == "range_from":
            iterable, trips = f"range(1, {stop + 1})", stop
            counters[index] = stop
        elif kind == "range_down":
            iterable, trips = f"range({stop}, 0, -1)", stop
            counters[index] = stop
        else:
            trips = LENGTH
            arrays = [self.choose(self.array_names(scope))]
            if kind == "enumerate":
                counters[index] = LENGTH - 1
                iterable = f"enumerate({arrays[0]})"
            elif kind == "zip":
                arrays.append(self.choose(self.array_names(scope)))
                iterable = f"zip({', '.join(arrays)})"
            else:
                iterable = arrays[0]
            elements = dict(zip((first, second), arrays))
        target = ", ".join(list(counters) + list(elements))
        inner = scope.inner_loop(counters, elements)
        inner.owned -= set(elements.values())
        body = self.block(inner, depth + 1)
        return For(target, iterable, trips, counters, elements, body)

    def output(self, scope):
        """`return` an expression plus every defined local."""
        kind = "array" if self.arrays else "float"
        value = self.expr(scope, kind, 1)
        names = sorted(n for n in scope.variables
                       if n not in ("x", "y") and n in LOCALS)
        return Return(value, names, self.choose(SQUASHES[kind]), self.arrays)

    # -- expressions --

    def expr(self, scope, kind, depth, new=False):
        """An expression of `kind`; `new` arrays are never a bare name."""
        if kind == "array":
            return self.array_expr(scope, depth, new)
        return self.float_expr(scope, depth)

    def float_expr(self, scope, depth):
        options = ["leaf"]
        if depth > 0:
            options += ["binop", "binop", "div", "power", "unary"]
            if self.functions:
                options += ["call", "call", "minmax"]
                if self.arrays:
                    options += ["reduce", "index", "dot"]
            if self.branches:
                options += ["ifexp", "andor", "or"]
        choice = self.choose(options)
        sub = depth - 1
        if choice == "leaf":
            return self.float_leaf(scope)
        if choice in ("binop", "div", "power", "unary", "call"):
            return self.arithmetic(scope, choice, "float", sub)
        if choice == "minmax":
            name = self.choose(["max", "min", "np.maximum", "np.minimum"])
            return Call(name, [self.float_expr(scope, sub),
                               self.float_expr(scope, sub)], max, "pair")
        if choice == "ifexp":
            return IfExp(self.cond(scope, sub), self.float_expr(scope, sub),
                         self.float_expr(scope, sub))
        if choice == "andor":
            return AndOr(self.cond(scope, sub), self.float_expr(scope, sub),
                         self.float_expr(scope, sub))
        if choice == "or":
            return OrValue(self.float_expr(scope, sub),
                           self.float_expr(scope, sub))
        if choice == "reduce":
            return self.reduction(scope, sub)
        if choice == "index":
            return self.subscript(scope)
        left = self.array_expr(scope, sub)
        right = self.array_expr(scope, sub)
        if self.draw(st.booleans()):
            return BinOp("@", left, right)
        return Call("np.dot", [left, right], lambda a, b: LENGTH * a * b)

    def arithmetic(self, scope, choice, kind, depth):
        """Arithmetic of `kind` whose operands are the deeper expressions;
        for arrays, the second operand of a binary operation may be a float
        (or a reduction that keeps dims) and broadcast."""
        operand = self.array_expr if kind == "array" else self.float_expr
        other = self.broadcast_expr if kind == "array" else self.float_expr
        if choice == "binop":
            operands = [operand(scope, depth), other(scope, depth)]
            if self.draw(st.booleans()):
                operands.reverse()
            return BinOp(self.choose(["+", "-", "*"]), *operands)
        if choice == "div":
            return GuardedDiv(operand(scope, depth), other(scope, depth),
                              self.choose(OFFSETS))
        if choice == "power":
            if self.functions and self.one_in(3):
                return self.variable_power(scope, kind, depth)
            return Power(operand(scope, depth), self.choose(EXPONENTS))
        if choice == "unary":
            return Unary(self.choose(["-", "+"]), operand(scope, depth))
        module = "np" if self.arrays else self.choose(["math", "np"])
        return self.call(scope, module, kind, depth)

    def variable_power(self, scope, kind, depth):
        """`c ** tanh(e)` or `(1.0 + b * b) ** tanh(e)`; for arrays, the base
        or the exponent is an array."""
        module = "np" if self.arrays else self.choose(["math", "np"])
        array_base = kind == "array" and self.draw(st.booleans())
        if array_base or (kind == "float" and self.draw(st.booleans())):
            base = guard(self.expr(scope, kind, depth), 1.0)
            exponent_kind = "float"
        else:
            base = Const(self.choose([2.0, 0.5, 3]))
            exponent_kind = kind
        exponent = Call(f"{module}.tanh",
                        [self.expr(scope, exponent_kind, depth)], None)
        return VarPower(base, exponent)

    def float_leaf(self, scope):
        """Mostly a variable (or an array element), sometimes a constant."""
        names = sorted(n for n, k in scope.variables.items()
                       if k == "float") + sorted(scope.counters)
        if self.arrays:
            names.append(None)  # an element of an array
        if not names or self.one_in(4):
            return Const(self.choose(CONSTANTS))
        name = self.choose(names)
        if name is None:
            return self.subscript(scope)
        if name in scope.counters and self.one_in(4):
            return BinOp(self.choose(["//", "%"]), Name(name), Const(2))
        return Name(name)

    def subscript(self, scope):
        name = self.choose(self.array_names(scope))
        indices = ["0", "1", "2", "-1"] + sorted(
            c for c, largest in scope.counters.items() if largest < LENGTH)
        return Subscript(name, self.choose(indices))

    def reduction(self, scope, depth):
        """A float from an array: sum, mean (maybe `axis=0`), or the sum or
        dot product of slices."""
        kind = self.choose(["np.sum", "np.mean", "slice", "dot"])
        if kind in ("np.sum", "np.mean"):
            scale = LENGTH if kind == "np.sum" else 1
            keywords = ("axis=0",) if self.one_in(3) else ()
            return Call(kind, [self.array_expr(scope, depth)],
                        lambda b: scale * b, keywords=keywords)
        names = self.array_names(scope)
        first = Subscript(self.choose(names), self.choose(SLICES))
        if kind == "slice":
            return Call("np.sum", [first], lambda b: (LENGTH - 1) * b)
        second = Subscript(self.choose(names), self.choose(SLICES))
        return Call("np.dot", [first, second],
                    lambda a, b: (LENGTH - 1) * a * b)

    def array_names(self, scope):
        return sorted(n for n, k in scope.variables.items() if k == "array")

    def array_expr(self, scope, depth, new=False):
        options = [] if new else ["leaf"]
        if depth > 0:
            options += ["binop", "binop", "div", "power", "unary"]
            if self.functions:
                options += ["call", "call", "where", "maximum"]
        choice = self.choose(options)
        sub = depth - 1
        if choice == "leaf":
            name = self.choose(self.array_names(scope))
            return Subscript(name, "::-1") if self.one_in(6) else Name(name)
        if choice in ("binop", "div", "power", "unary", "call"):
            return self.arithmetic(scope, choice, "array", sub)
        if choice == "where":
            cond = Compare(self.choose(["<", ">"]), self.array_expr(scope, 0),
                           self.broadcast_expr(scope, 0))
            return Where(cond, self.array_expr(scope, sub),
                         self.broadcast_expr(scope, sub))
        name = self.choose(["np.maximum", "np.minimum"])
        return Call(name, [self.array_expr(scope, sub),
                           self.broadcast_expr(scope, sub)], max, "pair")

    def broadcast_expr(self, scope, depth):
        """What an array can be combined with elementwise: an array, a
        float, or a reduction with `keepdims=True` (of shape (1,))."""
        options = ["array", "float"]
        if self.functions and depth > 0:
            options.append("keepdims")
        kind = self.choose(options)
        if kind != "keepdims":
            return self.expr(scope, kind, depth)
        name = self.choose(["np.sum", "np.mean"])
        scale = LENGTH if name == "np.sum" else 1
        return Call(name, [self.array_expr(scope, depth - 1)],
                    lambda b: scale * b, keywords=("keepdims=True",))

    def call(self, scope, module, kind, depth):
        """A `module` function of expressions of `kind`, on a safe domain."""
        names = ["sin", "cos", "tanh", "exp_tanh", "log", "sqrt", "atan",
                 "abs", "log1p", "square", "tan", "sinh", "cosh", "expm1",
                 "asin", "acos", "atan2", "pow"]
        if kind == "float":
            names.append("float")
        name = self.choose(names)
        arg = self.expr(scope, kind, depth)
        np_names = {"atan": "arctan", "asin": "arcsin", "acos": "arccos",
                    "atan2": "arctan2", "pow": "power"}
        callee = f"{module}.{np_names.get(name, name)}"
        if module == "math":
            callee = f"math.{name}"

        def of_tanh(callee, bound, scale=1.0):
            inner = Call(f"{module}.tanh", [arg], lambda b: min(b, 1.0))
            if scale != 1.0:
                inner = BinOp("*", Const(scale), inner)
            return Call(callee, [inner], lambda _: bound)
        if name in ("sin", "tanh"):
            return Call(callee, [arg], lambda b: min(b, 1.0))
        if name == "cos":
            return Call(callee, [arg], lambda b: 1.0)
        if name == "exp_tanh":
            return of_tanh(f"{module}.exp", math.e)
        if name in ("log", "sqrt"):
            return Call(callee, [guard(arg, 1.0)], getattr(math, name))
        if name == "atan":
            return Call(callee, [arg], lambda b: min(b, math.pi / 2))
        if name == "abs":
            if module == "math":
                callee = self.choose(["abs", "math.fabs"])
            else:
                callee = self.choose(["np.abs", "abs"])
            return Call(callee, [arg], lambda b: b, "sign")
        if name == "log1p":
            return Call(callee, [BinOp("*", arg, arg)], math.log1p)
        if name == "square":
            return Call("np.square", [arg], lambda b: b * b)
        if name in ("tan", "asin", "acos"):
            bound = {"tan": math.tan(0.5), "asin": math.asin(0.5),
                     "acos": math.pi}[name]
            return of_tanh(callee, bound, scale=0.5)
        if name in ("sinh", "cosh", "expm1"):
            return of_tanh(callee, getattr(math, name)(1.0))
        if name == "atan2":
            other = self.broadcast_expr if kind == "array" else self.float_expr
            second = other(scope, depth)
            return Call(callee, [arg, guard(second, 1.0)],
                        lambda a, b: math.pi / 2)
        if name == "pow":
            exponent = self.choose(EXPONENTS)
            return Call(callee, [guard(arg, 1.0), Const(exponent)],
                        lambda b, p: b ** p)
        return Call("float", [arg], lambda b: b)

    def cond(self, scope, depth):
        options = ["compare"]
        if depth > 0 and self.branches:
            options += ["and", "or", "not"]
        choice = self.choose(options)
        if choice == "compare":
            if scope.counters and self.one_in(4):
                counter = self.choose(sorted(scope.counters))
                return Compare(self.choose(["<", ">", "==", "!="]),
                               Name(counter), Const(self.choose([0, 1, 2])))
            return Compare(self.choose(["<", ">", "<=", ">="]),
                           self.float_expr(scope, min(depth, 1)),
                           self.float_leaf(scope))
        if choice == "not":
            return Not(self.cond(scope, depth - 1))
        return BoolCond(choice, self.cond(scope, depth - 1),
                        self.cond(scope, depth - 1))


@st.composite
def program_trees(draw, arrays=False, functions=True, branches=True,
                  loops=False, break_continue=False):
    """Strategy for `Program`s; see the module docstring for the flags."""
    if break_continue and not loops:
        raise ValueError("break_continue needs loops")
    return _Generator(draw, arrays, functions, branches, loops,
                      break_continue).program()


def programs(**flags):
    """Strategy for the source text of a module defining `prog(x, y)`."""
    return program_trees(**flags).map(lambda program: program.source)


# ---- input points and smoothness ----

def points(arrays=False):
    """Strategy for `(x, y)`: floats in [-2, 2], or arrays of them."""
    coordinate = st.floats(-2.0, 2.0, allow_subnormal=False)
    if arrays:
        coordinate = st.lists(coordinate, min_size=LENGTH,
                              max_size=LENGTH).map(np.array)
    return st.tuples(coordinate, coordinate)


class Case:
    """A program and a point where it is smooth."""

    def __init__(self, source, args):
        self.source, self.args = source, args

    def __repr__(self):
        return f"Case(args={self.args!r}, source=\n{self.source})"


@st.composite
def cases(draw, **flags):
    """Strategy for `Case`s: a program and a point it is smooth near."""
    program = draw(program_trees(**flags))
    args = draw(points(flags.get("arrays", False)))
    assume(is_smooth_near(program, args))
    return Case(program.source, args)


class _Traced:
    """`program.instrumented`, run to record its branch decisions."""

    def __init__(self, program):
        self.trace = []
        namespace = {"_t": self._truth, "_sign": self._sign,
                     "_pair": self._pair}
        exec(compile(program.instrumented, "<instrumented>", "exec"),
             namespace)
        self.func = namespace["prog"]

    def _truth(self, value):
        self.trace.append(np.asarray(value, dtype=bool).tolist())
        return value

    def _sign(self, value):
        self.trace.append(np.asarray(np.greater(value, 0)).tolist())
        return value

    def _pair(self, a, b):
        self.trace.append(np.asarray(np.greater(a, b)).tolist())
        return a, b

    def __call__(self, args):
        self.trace = []
        value = self.func(*args)
        return value, self.trace


def moved(args, which, index, step):
    """`args` with coordinate `index` of argument `which` moved by `step`."""
    args = list(args)
    if np.ndim(args[which]) == 0:
        args[which] = args[which] + step
    else:
        args[which] = args[which].copy()
        args[which][index] += step
    return args


def coordinates(args):
    """Every (argument, index) pair of `args`' scalar coordinates."""
    return [(which, index) for which, arg in enumerate(args)
            for index in np.ndindex(np.shape(arg))]


def is_smooth_near(program, args, step=1e-4, eps=1e-6):
    """Whether `program` is smooth near `args`, so that central differences
    with `eps` are accurate to much better than `check`'s tolerance there.

    Along each input coordinate: no branch decision or kink side changes
    within `step`, central differences with `step` and `eps` agree, and the
    rounding noise of the latter (its spread when the point moves by a few
    ulps' worth, 1e-9) is under a tenth of the tolerance.
    """
    traced = _Traced(program)
    with np.errstate(all="ignore"):
        value, trace = traced(args)
        if not np.isfinite(value):
            return False
        for which, index in coordinates(args):
            def at(h):
                value, other = traced(moved(args, which, index, h))
                if other != trace:
                    raise _Kink
                return value
            try:
                coarse = (at(step) - at(-step)) / (2 * step)
                fine = [(at(s + eps) - at(s - eps)) / (2 * eps)
                        for s in (0.0, 1e-9, 2e-9, 3e-9)]
            except _Kink:
                return False
            if not abs(coarse - fine[0]) <= 1e-3 * max(
                    abs(coarse), abs(fine[0])) + 1e-6:
                return False
            if not np.ptp(fine) <= 0.1 * (ATOL + RTOL * abs(fine[0])):
                return False
    return True


class _Kink(Exception):
    """A branch decision changed."""


# ---- running s2sad on programs ----

class ProgramFiles:
    """Writes each program to a uniquely named module in `directory` and
    imports it, so that s2sad can read its source with `inspect`."""

    def __init__(self, directory):
        self.directory = directory
        self._numbers = itertools.count()

    def load(self, source):
        name = f"random_program_{os.getpid()}_{next(self._numbers)}"
        path = os.path.join(self.directory, name + ".py")
        with open(path, "w", encoding="utf-8") as out:
            out.write(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.prog


class ProgramFailure(AssertionError):
    """s2sad's gradient of a generated program is wrong or s2sad failed."""


def central_differences(func, args, eps=1e-6):
    """The gradient of `func` at `args` by central differences."""
    grads = [np.zeros(np.shape(arg)) for arg in args]
    for which, index in coordinates(args):
        grads[which][index] = (
            func(*moved(args, which, index, eps))
            - func(*moved(args, which, index, -eps))) / (2 * eps)
    return tuple(float(g) if g.ndim == 0 else g for g in grads)


def check(case, files, optimizer=False):
    """Check s2sad's derivatives of `case` against central differences.

    With `optimizer`, also checks that optimised and unoptimised code agree
    (`check_optimizer`).

    Raises:
        ProgramFailure: the derivatives disagree or s2sad failed (a refusal
            counts as a failure); its message has the point, both gradients
            and the source.
    """
    prog = files.load(case.source)
    try:
        s2sad.check_grads(prog, case.args, argnums=(0, 1), rtol=RTOL,
                          atol=ATOL)
        if optimizer:
            check_optimizer(prog, case.args)
    except Exception as exc:  # a mismatch, a refusal, or a crash
        raise ProgramFailure(_describe(case, prog, exc)) from exc


def check_vector(case, files, k=3):
    """Vector mode on `case`: a batched jvp gives each direction's jvp, a
    batched vjp each cotangent's vjp, and the Hessian (vector mode over the
    gradient) and the Jacobian of the gradient by reverse mode (one
    backward sweep of vector mode) the ones computed a direction at a
    time, to rounding (raises ProgramFailure)."""
    prog = files.load(case.source)
    try:
        rng = np.random.default_rng(len(case.source))
        tangents = tuple(rng.standard_normal((k,) + np.shape(a))
                         for a in case.args)
        _, batch = s2sad.jvp(prog, case.args, tangents, batched=True)
        for i in range(k):
            _, one = s2sad.jvp(prog, case.args, tuple(t[i] for t in tangents))
            _assert_close_to_rounding(batch[i], one)
        rows = s2sad.hessian(prog, (0, 1))(*case.args)
        for i, row in enumerate(rows):
            single = api._jacfwd_per_direction(
                s2sad.grad(prog, i), *case.args, argnums=(0, 1))
            for block, expected in zip(row, single):
                _assert_close_to_rounding(block, expected)
        out, pull = s2sad.vjp(prog, *case.args, batched=True)
        seeds = rng.standard_normal((k,) + np.shape(out))
        batch = pull(seeds)
        _, pull_one = s2sad.vjp(prog, *case.args)
        for i in range(k):
            for got, one in zip(batch, pull_one(seeds[i])):
                _assert_close_to_rounding(got[i], one)
        for i in (0, 1):
            gradient = s2sad.grad(prog, i)
            rows = s2sad.jacrev(gradient, (0, 1))(*case.args)
            single = api._jacrev_per_direction(gradient, *case.args,
                                               argnums=(0, 1))
            for block, expected in zip(rows, single):
                _assert_close_to_rounding(block, expected)
    except Exception as exc:
        raise ProgramFailure(_describe(case, prog, exc)) from exc


def _assert_close_to_rounding(actual, expected):
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=1e-10,
                               atol=1e-12 * scale)


def check_optimizer(prog, args):
    """The gradient, a JVP and a VJP of `prog` at `args` are the same with
    and without the optimiser."""
    tangents = tuple(np.full_like(a, t) for a, t in zip(args, (0.7, -0.3)))
    for optimize in (False, True):
        grad = api.differentiate(prog, (0, 1), optimize_code=optimize)
        jvp = api.differentiate(prog, (0, 1), optimize_code=optimize,
                                mode="forward")
        vjp = api.differentiate(prog, (0, 1), optimize_code=optimize,
                                mode="vjp")
        value, residuals = vjp(*args)
        results = (grad(*args), jvp(*args, **dict(zip(jvp.tangent_names, tangents))),
                   vjp.backward(*residuals, 1.3))
        if not optimize:
            unoptimised = results
    for what, ours, raw in zip(("gradient", "jvp", "vjp"), results,
                               unoptimised):
        np.testing.assert_allclose(
            np.array(ours, dtype=float), np.array(raw, dtype=float),
            rtol=SAME_RTOL, atol=0,
            err_msg=f"the optimiser changed the {what}")


def _describe(case, prog, error):
    try:
        ours = repr(s2sad.grad(prog, argnums=(0, 1))(*case.args))
    except Exception as exc:  # what failed is s2sad itself
        ours = f"raises {type(exc).__name__}"
    if isinstance(error, AssertionError):
        detail = str(error)
    else:
        detail = "".join(traceback.format_exception(error)).rstrip()
    x, y = case.args
    return (f"s2sad's gradient of a generated program is wrong\n"
            f"at x = {x!r}, y = {y!r}\n"
            f"  s2sad:               {ours}\n"
            f"  central differences: {central_differences(prog, case.args)!r}"
            f"\n{detail}\n---- program ----\n{case.source}")

"""Specialising a generated gradient to the kinds of arguments it is called
with: the last stage, after compilation, once a derivative's calls have
taken ten times what specialising it costs (see `worth`).

The generated code works for any inputs, and the runtime helpers it calls
find out at each call what they were given: `unbroadcast` compares shapes,
`matmul_adjoint_a` dispatches on ranks, `gradients` checks each gradient's
type, shape, dtype and memory. On a small array program those decisions
cost more than the arithmetic (a 10-32-1 network on one example: 3 of its
8 microseconds). A program called again and again with arrays of the same
shapes gets the same answers each time, so they are taken once here:

- the kinds of the arguments of that call (arrays of their shapes and
  dtypes, Python floats, NumPy float64s) and of the module-level numbers
  the code reads are facts;
- the facts of every value the function makes follow NumPy's own rules:
  each operation the facts cover (arithmetic, ufuncs, `np.where`,
  products, reductions, slices, joins, new arrays, `.T`) is run once on
  stand-ins of those shapes and dtypes that hold no data (never one whose
  result's shape depends on values: a mask, an index array); a loop is
  read with what holds on entry to every iteration, a branch with what
  both paths agree on, a tape's pops with what its appends pushed;
- each helper call the facts decide is replaced by what the helper does
  for such values (the same NumPy operations, so the same results to the
  bit): an expression (`g @ b.T` for a product's adjoint), or statements
  in the place of the assignment it is the value of (the adjoint of a
  slice read: zeros, and `g` added into the slice); the gradients
  returned are left unchecked where each is a new array of its input's
  shape and dtype that shares memory with nothing else returned or given;
  a branch on a class the facts fix is taken at once;
- then what no longer needs to be done goes: a sum's adjoint spread over
  an array that only meets arithmetic broadcasting it anyway
  (`_spread_lazily`), and what a tape kept only for the helpers replaced
  (`optimize.drop_dead_tape_items`);
- a guard in front sends any call with arguments of other kinds to the
  general function.

A program for which nothing is decided keeps the general function, and so
does one the specialiser fails on (an error of its own is not the user's).
"""

import ast
import builtins
import collections
import copy
import math
import types
import warnings

import gast
import numpy as np

from s2sad import codegen, errors, optimize, runtime, trees

_NDARRAY = np.ndarray

# for tests: specialise at the first call; and a function
# `CHECKED(specialised, general, *args, **kwargs)` to call instead of the
# specialised code (one that compares the two)
AT_ONCE = False
CHECKED = None

# Specialising a derivative takes about this long per character of its
# generated code's text (1 to 8 microseconds on tools/realistic.py's
# programs: parsing, analysing the loops' bodies again until their kinds
# settle, compiling), and is done once its calls have taken WORTH times
# that (see api.Derivative._counted_call): at most a tenth more time is
# spent on it then. WORTH = 0 specialises at the second call.
SECONDS_PER_CHARACTER = 4e-6
WORTH = 10


def worth(function):
    """How long (in seconds) the calls of the generated `function` are to
    have taken before it is specialised."""
    text = errors.source_text(function.__code__.co_filename)
    return WORTH * SECONDS_PER_CHARACTER * len(text or "")


# a value's kind: "array" (a NumPy array, of `shape` and `dtype`), "like"
# (a runtime.Like: what a tape keeps of such an array), "float"
# (a Python float), "float64" (a NumPy float64), "number" (either: a sum
# begun at 0.0 that a loop adds float64s to), "int" (a Python int),
# "shape" (an array's shape, a tuple of ints), "tuple", "list" and
# "objects" (a list's adjoint, an object array; their `value` is the tuple
# of their items' facts), "many list" and "many objects" (a list, or a
# list's adjoint, whose length the facts do not fix, of numbers: their
# `value` is the fact every item has, and `shape` holds the least length
# they may have), "range"; `value`: a number's, where the guard fixes it
# (a length, a constant)
Fact = collections.namedtuple("Fact", "kind shape dtype value",
                              defaults=(None,))
_FLOAT = Fact("float", (), np.dtype(float))
_FLOAT64 = Fact("float64", (), np.dtype(float))
_NUMBER = Fact("number", (), np.dtype(float))
_INT = Fact("int", (), None)
_F8 = np.dtype(np.float64)
_NOTHING = Fact("nothing", (), None)  # (the item of an empty list)
_NUMBERS = ("float", "float64", "number")
_MANY = ("many list", "many objects")
_CLASSES = {"array": _NDARRAY, "float": float, "float64": np.float64,
            "int": int, "many list": list}

# the ways of `matmul_adjoint_a` and `matmul_adjoint_b` (see runtime) for
# float64 operands of these ranks, as (rank of a, rank of b) -> expression
_MATMUL_A = {(2, 2): "g @ b.T", (1, 2): "b @ g", (1, 1): "g * b",
             (2, 1): "g[..., None] * b"}
_MATMUL_B = {(2, 2): "a.T @ g", (2, 1): "g @ a", (1, 1): "g * a",
             (1, 2): "a[..., None] * g"}

_REDUCTIONS = {"sum", "mean", "max", "min", "prod"}
_METHODS = _REDUCTIONS | {"copy"}  # (an array's, whose results are new)
# NumPy's functions that reduce a float64 array by a ufunc's `reduce` (and
# np.mean, a sum divided), by that ufunc's name; and makers of new arrays
# of an array's shape, by the function that makes them from a shape
_UFUNC_REDUCTIONS = {np.sum: "add", np.mean: "add", np.max: "maximum",
                     np.amax: "maximum", np.min: "minimum",
                     np.amin: "minimum", np.prod: "multiply"}
_LIKE_MAKERS = {np.zeros_like: "zeros", np.ones_like: "ones",
                np.empty_like: "empty"}
_JOINS = (np.concatenate, np.stack, np.hstack, np.vstack)
_MAKERS = (np.zeros, np.ones, np.empty, np.full, np.zeros_like, np.ones_like,
           np.empty_like, np.full_like)

# helpers that compute from their arguments alone and make new values (or
# give one of them back), whose results' kinds are found by running them on
# stand-ins
_PURE = {"unreduce", "expand_reduced", "unbroadcast_to", "logistic",
         "attribute_cotangent", "power", "divide", "concatenate_adjoint",
         "balanced_max_partial"}
_PURE_RULES = {"_tie_weights"}  # (of the rules' own helpers: by name)


def fact_of(value):
    """The fact a call's argument gives, or None (a kind not specialised)."""
    cls = value.__class__
    if cls is _NDARRAY and value.dtype.kind in "biuf" and \
            value.dtype.isnative:
        return Fact("array", value.shape, value.dtype)
    if cls is float:
        return _FLOAT
    if cls is np.float64:
        return _FLOAT64
    if cls is int:  # (a step count, an index: not a bool, a class of its own)
        return _INT
    if cls is list and runtime.all_floats(value):  # (of any length)
        return Fact("many list", (0,), None, _FLOAT)
    return None


def _stand_in(fact):
    """A value of the fact's kind holding no data of its own."""
    if fact.kind in ("tuple", "list", "objects"):
        items = [_stand_in(f) for f in fact.value]
        if fact.kind == "objects":
            held = np.empty(len(items), dtype=object)
            held[:] = items
            return held
        return tuple(items) if fact.kind == "tuple" else items
    if fact.kind == "shape":
        return fact.shape
    if fact.value is not None:
        return fact.value
    if fact.kind in ("array", "like"):
        array = np.broadcast_to(np.ones((), fact.dtype), fact.shape)
        return array if fact.kind == "array" else runtime.Like(array)
    return {"float": 1.0, "float64": np.float64(1.0), "int": 1,
            "number": 1.0}[fact.kind]


def _exact(fact):
    """The value of an int, a shape, or a tuple of ints the guard fixes
    (None for one of another kind, or not fixed)."""
    if fact is None:
        return None
    if fact.kind == "shape":
        return fact.shape
    if fact.kind == "int":
        return fact.value
    if fact.kind == "tuple":
        items = [_exact(f) for f in fact.value]
        return None if None in items else tuple(items)
    return None


def _known(fact):
    """Can a stand-in be made of the fact's kind?"""
    return fact is not None and fact.kind not in ("range",) + _MANY and (
        fact.kind not in ("tuple", "list", "objects") or
        all(map(_known, fact.value)))


def _result(compute, facts):
    """The fact of what `compute` makes of values of `facts`, found by
    running it on stand-ins (None where it fails or makes another kind)."""
    if not all(map(_known, facts)):
        return None
    if any(f.kind in ("tuple", "list", "objects") and _holds_number(f)
           for f in facts):
        return None  # (each kind of each number would have to be tried)
    if any(f.kind == "number" for f in facts):  # (what both kinds give)
        return _joined([_result(compute, [f._replace(kind=kind) if
                                          f.kind == "number" else f
                                          for f in facts])
                        for kind in ("float", "float64")])
    try:  # (NumPy's errors and warnings ignored: see `_specialised`)
        value = compute(*[_stand_in(f) for f in facts])
    except Exception:  # (the program raises there: the helper decides)
        return None
    found = _fact_of_result(value)
    if found is not None and found.kind in ("int", "float", "float64") and \
            all(map(_valued, facts)):
        return found._replace(value=value)  # (known: of lengths, constants)
    return found


def _holds_number(fact):
    """Is the fact a number's, or of a container holding one?"""
    if fact.kind in ("tuple", "list", "objects"):
        return any(map(_holds_number, fact.value))
    return fact.kind == "number"


def _valued(fact):
    """Does the fact fix its value (of a container: each of its items')?"""
    if fact.kind in ("tuple", "list", "objects"):
        return all(map(_valued, fact.value))
    return fact.kind == "shape" or fact.value is not None


def _fact_of_result(value):
    """fact_of, for what an operation made (ints, tuples and lists of
    arrays too)."""
    found = fact_of(value)
    if value.__class__ is runtime.Like:
        return Fact("like", value.shape, value.dtype)
    if found is None and (value.__class__ in (tuple, list) or (
            value.__class__ is _NDARRAY and value.dtype == object and
            value.ndim == 1)):  # (the adjoint of a list: its items')
        items = tuple(_fact_of_result(v) for v in value)
        if all(items):
            return Fact({tuple: "tuple", list: "list"}.get(
                value.__class__, "objects"), (), None, items)
    return found


def _joined(facts):
    """The fact every one of `facts` (of the paths that reach a point)
    agrees on: their own, or without a value they differ in, or a number
    where some are Python floats and some NumPy float64s, or, of lists of
    numbers of different lengths, a list of that many numbers; or None."""
    first = facts[0]
    if None not in facts and len({f.kind for f in facts}) > 1 and all(
            f.kind in _NUMBERS for f in facts):
        return _NUMBER
    if first is not None and first.kind in ("tuple", "list", "objects") \
            + _MANY and any(f != first for f in facts):
        if any(f is None or f.kind != first.kind or first.kind in _MANY or
               len(f.value) != len(first.value) for f in facts):
            return _many(facts)
        return first._replace(value=tuple(
            _joined(list(items)) for items in zip(*(f.value for f in facts))))
    if first is None or any(f != first for f in facts):
        if first is None or any(f is None or f._replace(value=None) !=
                                first._replace(value=None) for f in facts):
            return None
        return first._replace(value=None)
    return first


def _many(facts):
    """The fact of lists (or of lists' adjoints) of numbers, of the lengths
    and items `facts` give: one of "many" items, each a number of the kind
    they all are (see `Fact`); or None."""
    kinds = {f.kind.replace("many ", "") if f is not None else None
             for f in facts}
    if len(kinds) != 1 or kinds & {None, "tuple"}:
        return None
    items = [_item(f) for f in facts]
    least = min(map(_least, facts))
    item = _joined([i for i in items if i is not _NOTHING] or [_FLOAT])
    if None in items or item is None or item.kind not in _NUMBERS:
        return None
    return Fact("many " + kinds.pop(), (least,), None, item)


def _item(fact, kind=None):
    """The fact each item of a list (or a list's adjoint) of numbers has
    (its numbers' values left out): _NOTHING for an empty one; else None.
    (`kind` "list" or "objects": of that container only, of a length
    known or not.)"""
    if fact is None or fact.kind not in ("list", "objects") + _MANY or \
            kind is not None and fact.kind not in (kind, "many " + kind):
        return None
    if fact.kind in _MANY:
        return fact.value
    if not fact.value:
        return _NOTHING
    item = _joined([f and f._replace(value=None) for f in fact.value])
    return item if item is not None and item.kind in _NUMBERS else None


def _many_of(kind, fact, item, added=0):
    """The fact of a list (`kind` "list") or list's adjoint ("objects")
    `fact` with an item of fact `item` written in it (`added` 0) or added
    to its end (1); None unless both are of numbers."""
    items = _item(fact, kind)
    if items is None or item is None or item.kind not in _NUMBERS:
        return None
    item = item._replace(value=None)
    if items is not _NOTHING:
        item = _joined([item, items])  # (a number, both being numbers)
    return Fact("many " + kind, (_least(fact) + added,), None, item)


def _least(fact):
    """The least length a list (or list's adjoint) of `fact` may have."""
    return fact.shape[0] if fact.kind in _MANY else len(fact.value)


def _position(fact):
    """Is the fact an int's that indexes a list as NumPy indexes the
    object array holding its adjoints (not a bool: see
    runtime._item_index)?"""
    return fact is not None and fact.kind == "int" and \
        fact.value.__class__ is not bool


class _Specialiser:
    def __init__(self, function, arguments, names):
        self.function = function
        self.names = names  # (for what the code written reads: `reach`)
        self.cells = dict(zip(function.__code__.co_freevars,
                              function.__closure__ or ()))
        self.facts = dict(arguments)
        # the memory a value may read: a set of names whose values were
        # made new (an operation's result) or given (a parameter); None
        # where that is not known
        self.origins = {name: {name} for name in arguments}
        self.decided = 0  # helper calls decided
        self.known = {}  # id of a rewritten node -> (fact, origins)
        self.seeds = set()  # names of seeds float64_seed() gives
        self.globals_read = {}  # module-level numbers read -> their facts
        self.local = set()  # names the function binds (see `specialised`)
        # the lists a tape is (made `[]`, then only appended to and popped
        # from) -> the facts of what is appended, by the names of the items
        # of a tuple written in the append (optimize.names_pushed; None for
        # anything else), and the facts each pop gave (name, the names it
        # unpacks into, fact): the backward sweep pops each step's values
        # as its forward sweep pushed them, a tuple of values into names
        # of theirs (see `_pushed`)
        self.tapes, self.popped = {}, []
        self.unpacked = _ANY  # (by the pop analysed: see `stmt_Assign`)
        self.dry = []  # copies of loop bodies analysed (kept: see `loop`)
        # id of a helper call -> a function that, given the name the call's
        # value is assigned to, gives the statements that do what it does
        # (which take the assignment's place); and those of the statement
        # analysed
        self.written, self.instead = {}, None
        # id of such a call -> a helper call among its arguments that its
        # statements do the work of too (`cleared`)
        self.inlined = {}
        self.walrus = True  # (may the code hold `(y := ...)`)

    # -- names ------------------------------------------------------------

    def resolve(self, node):
        """The object an expression of names and attributes reads, where it
        is a module-level name, a cell of the generated code or a builtin."""
        if isinstance(node, ast.Name):
            if node.id in self.cells:
                try:
                    return self.cells[node.id].cell_contents
                except ValueError:
                    return None
            if node.id in self.facts or node.id in self.local:
                return None
            scope = self.function.__globals__
            if node.id in scope:
                return scope[node.id]
            return getattr(builtins, node.id, None)
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            if isinstance(owner, types.ModuleType):
                return getattr(owner, node.attr, None)
        return None

    def reach(self, value, name):
        """A name the code reads `value` by (`np`, `runtime`): `name`
        where the function's scope binds it to value, else a new cell's."""
        if self.resolve(ast.Name(name, ast.Load())) is value:
            return name
        return self.names.of(name, value)

    def parsed(self, text, **parts):
        """The expression `text`, where `np` and `runtime` read NumPy and
        s2sad's runtime, and the names `parts` name are those nodes."""
        numpy, helpers = self.reach(np, "np"), self.reach(runtime, "runtime")
        tree = ast.parse(text, mode="eval").body
        return _substitute(tree, dict(parts, **{
            "np": ast.Name(numpy, ast.Load()),
            "runtime": ast.Name(helpers, ast.Load())}))

    # -- expressions ------------------------------------------------------

    def expr(self, node):
        """(node rewritten, its fact, its origins)."""
        method = getattr(self, "expr_" + type(node).__name__, None)
        done = method(node) if method is not None else (
            self.generic(node), None, None)
        self.known[id(done[0])] = done[1:]  # (for `fact` and `origin`)
        return done

    def generic(self, node):
        """`node` with its sub-expressions rewritten, of unknown kind."""
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                setattr(node, field, self.expr(value)[0])
            elif isinstance(value, list):
                value[:] = [self.expr(v)[0] if isinstance(v, ast.expr)
                            else v for v in value]
        for keyword in getattr(node, "keywords", ()):
            keyword.value = self.expr(keyword.value)[0]
        return node

    def expr_ListComp(self, node):
        """(Not entered: its own names may hide the function's.)"""
        return node, None, None

    expr_SetComp = expr_DictComp = expr_GeneratorExp = expr_Lambda = \
        expr_NamedExpr = expr_ListComp

    def expr_Name(self, node):
        if node.id in self.facts or node.id in self.local:
            return node, self.facts.get(node.id), self.origins.get(node.id)
        value = self.resolve(node)
        if value.__class__ in (float, np.float64, int) or \
                value.__class__ is list and runtime.all_floats(value):
            # a module-level number (a model's constant) or a closure's, or
            # a list of floats (data): the guard checks its kind, as it may
            # be bound to another one (a list's items, at each call)
            fact = fact_of(value)
            self.globals_read[node.id] = fact
            return node, fact, set() if fact.kind != "many list" else None
        return node, None, None

    def expr_Constant(self, node):
        cls = node.value.__class__
        fact = _FLOAT if cls is float else _INT if cls in (int, bool) \
            else None
        return node, fact and fact._replace(value=node.value), set()

    def expr_BinOp(self, node):
        node.left, left, _ = self.expr(node.left)
        node.right, right, _ = self.expr(node.right)
        op = _BINARY.get(type(node.op))
        fact = _result(op, (left, right)) if op else None
        return node, fact, self.made(node, fact)

    def expr_UnaryOp(self, node):
        node.operand, operand, _ = self.expr(node.operand)
        op = _UNARY.get(type(node.op))
        fact = _result(op, (operand,)) if op else None
        return node, fact, self.made(node, fact)

    def expr_Attribute(self, node):
        value = self.resolve(node)
        if value.__class__ in (float, np.float64):  # (`math.pi`, `cfg.DT`)
            fact = fact_of(value)
            self.globals_read[ast.unparse(node)] = fact
            return node, fact, set()
        node.value, fact, origin = self.expr(node.value)
        if fact is None or fact.kind != "array":
            return node, None, None
        if node.attr == "T":
            return node, _result(lambda a: a.T, (fact,)), origin  # (a view)
        if node.attr == "shape":
            return node, Fact("shape", fact.shape, None), set()
        return node, None, None

    def expr_IfExp(self, node):
        """`a / n if n else np.divide(a, n)` of a length n the guard fixes,
        and a test the facts decide (see `truth`): the branch taken."""
        known = self.truth(node.test)
        if known is None:
            node.test, test, _ = self.expr(node.test)
            if test is not None and test.kind in ("int", "float") and \
                    test.value is not None:
                known = bool(test.value)
        if known is not None:
            self.decided += 1
            return self.expr(node.body if known else node.orelse)
        # (undecided: of the kind both branches give, when they give one,
        # `g / n if n else np.divide(g, n)` of a number n not known)
        node.body, body, left = self.expr(node.body)
        node.orelse, orelse, right = self.expr(node.orelse)
        fact = _joined([body, orelse])  # (a number, of either kind)
        # (either branch's value itself: its origins, not a new one's)
        return node, fact, left | right if fact is not None and \
            left is not None and right is not None else None

    def truth(self, test):
        """True or False where the facts decide the test: `x.__class__ is
        float` (and `is not`) of a value of known kind, a name bound to a
        constant, and `not`, `and` and `or` of such tests; else None."""
        if isinstance(test, ast.BoolOp):  # (each part decided, or none)
            found = [self.truth(v) for v in test.values]
            if None in found:
                return None
            return any(found) if isinstance(test.op, ast.Or) else all(found)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            found = self.truth(test.operand)
            return None if found is None else not found
        if isinstance(test, ast.Call) and len(test.args) == 1 and \
                not test.keywords and self.resolve(test.func) in (
                    runtime.numpy_floats, runtime.is_number,
                    runtime.is_real):
            # (the float variant's tests of its inputs' classes)
            floats = self.resolve(test.func) is runtime.numpy_floats
            values = test.args[0].elts if floats and isinstance(
                test.args[0], ast.Tuple) else test.args
            kinds = [getattr(self.facts.get(getattr(v, "id", None)), "kind",
                             None) for v in values]
            if all(k in _NUMBERS or k == "int" and not floats
                   for k in kinds):
                return True
            return False if "array" in kinds else None
        if isinstance(test, ast.Name) and test.id in self.facts:
            fact = self.facts[test.id]
            if fact is not None and fact.kind == "int" and \
                    fact.value is not None:
                return bool(fact.value)
            return None
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and \
                isinstance(test.ops[0], (ast.Is, ast.IsNot)) and \
                isinstance(test.left, ast.Attribute) and \
                test.left.attr == "__class__" and \
                isinstance(test.left.value, ast.Name):
            fact = self.facts.get(test.left.value.id)
            cls = _CLASSES.get(getattr(fact, "kind", None))
            other = self.resolve(test.comparators[0])
            if cls is None or not isinstance(other, type):
                return None
            return (cls is other) == isinstance(test.ops[0], ast.Is)
        return None

    def expr_Subscript(self, node):
        node.value, fact, origin = self.expr(node.value)
        node.slice = self.expr(node.slice)[0]
        if fact is None:
            return node, None, None
        item = _item(fact)  # (of a list of numbers, or its adjoint)
        if item is not None and item is not _NOTHING and _position(
                self.fact(node.slice)) and (fact.kind in _MANY or _exact(
                    self.fact(node.slice)) is None):
            return node, item, set()  # (a number, at a position unknown)
        if item is not None and (isinstance(node.slice, ast.Slice) or isinstance(
                node.slice, ast.Call) and self.resolve(node.slice.func) is
                slice):
            kind = fact.kind.replace("many ", "")  # (a part of any length)
            part = fact if item is _NOTHING else Fact(
                "many " + kind, (0,), None, item)
            return node, part, origin if kind == "objects" else {id(node)}
        if fact.kind in _MANY:
            return node, None, None
        if fact.kind in ("shape", "tuple", "list", "objects"):
            # (an item of a container: at a position known, not taken as 0)
            position = _exact(self.fact(node.slice))
            items = fact.value if fact.kind != "shape" else tuple(
                Fact("int", (), None, n) for n in fact.shape)
            if position.__class__ is int and \
                    -len(items) <= position < len(items):
                return node, items[position], set() if fact.kind == \
                    "shape" else None
            return node, None, None
        index = self.index(node.slice)
        if fact.kind == "array" and index is None and _integer_index(
                self.fact(node.slice)):  # (`p[np.arange(n), y]`: a copy)
            return node, _result(lambda a, i: a[i], (
                fact, self.fact(node.slice))), {id(node)}
        if fact.kind != "array" or index is None:
            return node, None, None
        found = _result(lambda a: a[index], (fact,))
        if found is not None and found.kind != "array":
            return node, found, set()  # (an item: a number of its own)
        return node, found, origin  # (a view)

    def index(self, node):
        """The index `node` reads as a value whose parts are the same as
        on any run (ints, slices and ints known, `None`, `...`), an int
        of unknown value taken as 0 (an int drops its axis whatever it
        is), or None."""
        parts = node.elts if isinstance(node, ast.Tuple) else [node]
        found = []
        for part in parts:
            fact = self.fact(part)
            if isinstance(part, ast.Constant) and (
                    part.value is None or part.value is Ellipsis):
                found.append(part.value)
            elif fact is not None and fact.kind == "int":
                found.append(0 if fact.value is None else fact.value)
            elif isinstance(part, ast.Slice) or isinstance(
                    part, ast.Call) and self.resolve(part.func) is slice \
                    and not part.keywords:
                bounds = [part.lower, part.upper, part.step] if isinstance(
                    part, ast.Slice) else part.args
                values = [None if b is None or isinstance(
                    b, ast.Constant) and b.value is None else _exact(
                        self.fact(b)) for b in bounds]
                if not all(v is None or v.__class__ is int for v in values) \
                        or None in [_exact(self.fact(b)) for b, v in zip(
                            bounds, values) if v is None and not (
                            b is None or isinstance(b, ast.Constant))]:
                    return None
                found.append(slice(*values))
            else:
                return None
        return tuple(found) if isinstance(node, ast.Tuple) else found[0]

    def expr_Call(self, node):
        callee = self.resolve(node.func)
        if callee is None and isinstance(node.func, ast.Attribute):
            node.func.value = self.expr(node.func.value)[0]  # (a method's)
        node.args = [self.expr(a)[0] for a in node.args]
        for keyword in node.keywords:
            keyword.value = self.expr(keyword.value)[0]
        name = getattr(callee, "__name__", "")
        if getattr(runtime, name, None) is callee is not None:
            rewrite = getattr(self, "helper_" + name, None)
            done = rewrite(node) if rewrite is not None else None
            if done is not None and done[0] is not node and \
                    not _evaluated_alike(node, [done[0]]):
                done = None
            if done is not None:
                self.decided += done[0] is not node
                return done
            if name not in _PURE:
                return node, None, None
        elif name in _PURE_RULES and getattr(
                callee, "__module__", "").startswith("s2sad.rules"):
            pass
        elif callee is float and len(node.args) == 1 and not node.keywords \
                and getattr(self.fact(node.args[0]), "kind", None) == "float":
            return node.args[0], _FLOAT, set()  # (a float already)
        else:
            fact = self.numpy_call(node, callee)
            origin = None if fact is not None and fact.kind in (
                "list", "tuple") or _is_call_of(node, "pop") \
                else self.made(node, fact)
            if fact is not None and fact.kind in ("array", "float64"):
                node = self.numpy_form(node, callee, fact)
            return node, fact, origin
        fact = self.pure(node, callee)
        return node, fact, {id(node)} if fact is not None and all(
            self.fact(a) is None or self.fact(a).kind != "array"
            for a in node.args[:1]) else None

    def pure(self, node, callee):
        """The fact of a call of a helper that computes from its arguments
        alone (`_PURE`): their facts, and constants."""
        if node.keywords or any(isinstance(a, ast.Starred)
                                for a in node.args):
            return None
        values = []
        for a in node.args:
            fact = self.fact(a)
            if fact is not None and fact.kind != "shape":
                values.append(fact)
            elif isinstance(a, ast.Constant) or isinstance(a, ast.Tuple) \
                    and all(isinstance(e, ast.Constant) for e in a.elts):
                values.append(ast.literal_eval(a))
            else:
                return None
        facts = [v for v in values if isinstance(v, Fact)]

        def compute(*stand_ins):
            given = iter(stand_ins)
            return callee(*[next(given) if isinstance(v, Fact) else v
                            for v in values])
        return _result(compute, facts)

    def expr_Tuple(self, node):
        done = [self.expr(e) for e in node.elts]
        node.elts = [d[0] for d in done]
        kind = "tuple" if isinstance(node, ast.Tuple) else "list"
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return node, None, None
        return node, Fact(kind, (), None, tuple(d[1] for d in done)), set()

    expr_List = expr_Tuple

    def numpy_call(self, node, callee):
        """The fact of a NumPy call the facts cover: a ufunc, np.where, a
        reduction (a function or a method, with a constant axis), a join
        of arrays; and of `range`, `len`, `math` functions, a tape's
        `pop()`."""
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords):
            return None
        facts = [self.fact(a) for a in node.args]
        if callee is None and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "pop" and not node.args and \
                isinstance(node.func.value, ast.Name):
            name, key = node.func.value.id, self.unpacked
            fact = _pushed(self.tapes.get(name, {}), key)
            self.popped.append((name, key, fact))
            return fact
        if isinstance(callee, np.ufunc) and not node.keywords and \
                callee.nout == 1 and len(facts) == callee.nin:
            return _result(callee, facts)
        if callee is np.where and len(facts) == 3 and not node.keywords:
            return _result(np.where, facts)
        options = {k.arg: _constant(k.value) for k in node.keywords}
        if _UNKNOWN in options.values() or set(options) - {"axis",
                                                             "keepdims"}:
            return None
        name = getattr(callee, "__name__", None)
        if callee is range or callee is reversed and facts and \
                facts[0] is not None and facts[0].kind == "range":
            return Fact("range", (), None)
        if callee in _JOINS and len(facts) == 1 and facts[0] is not None \
                and facts[0].kind in ("tuple", "list"):
            return _result(lambda *items: callee(list(items), **options),
                           facts[0].value)
        if callee in _MAKERS and facts and not options:
            return self.made_array(callee, facts)
        if callee is np.arange and not options and 1 <= len(facts) <= 3 \
                and all(f is not None and f.kind == "int" and f.value is
                        not None for f in facts):  # (ints of known values)
            made = np.arange(*(f.value for f in facts))
            return Fact("array", made.shape, made.dtype, None)
        if callee is len and len(facts) == 1 and not options and \
                facts[0] is not None and facts[0].kind == "array" and \
                facts[0].shape:
            return Fact("int", (), None, facts[0].shape[0])
        if callee is len and len(facts) == 1 and not options and \
                facts[0] is not None and facts[0].kind in _MANY:
            return _INT  # (a length the facts do not fix)
        if isinstance(callee, types.BuiltinFunctionType) and getattr(
                callee, "__module__", None) == "math" and not options:
            return _result(callee, facts)
        if callee in (max, min) and len(facts) > 1 and not options and all(
                f is not None and f.kind in _NUMBERS for f in facts):
            return _joined([f._replace(value=None) for f in facts])  # (one)
        item = _item(facts[0], "list") if len(facts) == 1 and \
            not options else None
        if callee is list and item is not None:  # (a copy: a new list)
            return Fact("many list", (_least(facts[0]),), None, _FLOAT if
                        item is _NOTHING else item)
        if callee is abs and len(facts) == 1 and not options:
            return _result(abs, facts)
        if callee is sum and item not in (None, _NOTHING) and (
                _least(facts[0]) or item == _FLOAT):
            # (0 and the items: of their kind; an empty list's sum is the
            # int 0, which the helpers take as they take 0.0)
            return item
        if name in _REDUCTIONS and callee is getattr(np, name, None) and \
                len(facts) == 1:
            return _result(lambda a: callee(a, **options), facts)
        if isinstance(node.func, ast.Attribute) and node.func.attr in \
                _METHODS and not node.args and callee is None:
            owner = self.fact(node.func.value)
            if owner is not None and owner.kind == "array":
                method = node.func.attr
                return _result(lambda a: getattr(a, method)(**options),
                               [owner])
        return None

    def numpy_form(self, node, callee, fact):
        """A NumPy function's call on a float64 array as the function
        makes it, without its dispatch (a microsecond or two a call):
        np.sum(a, axis=..., keepdims=...) as `np.add.reduce(a, ...)`, and
        np.max, np.min, np.prod likewise; np.mean(a) as that sum divided
        by the count; np.zeros_like(a) as np.zeros(shape), and np.ones_like
        and np.empty_like likewise. (NumPy computes each in the same way,
        so the values are the same to the bit.)"""
        if len(node.args) != 1 or any(k.arg not in ("axis", "keepdims")
                                      for k in node.keywords):
            return node
        a = self.fact(node.args[0])
        if a is None or a.kind != "array" or a.dtype != _F8:
            return node
        if callee in _LIKE_MAKERS and not node.keywords:
            maker = _LIKE_MAKERS[callee]
            return _located(self.parsed(f"np.{maker}({a.shape!r})"), node)
        reduce = _UFUNC_REDUCTIONS.get(callee)
        if reduce is None or not np.prod(a.shape):
            return node
        options = {k.arg: _constant(k.value) for k in node.keywords}
        axis = options.get("axis")
        count = math.prod(a.shape) if axis is None else math.prod(
            a.shape[i] for i in ((axis,) if axis.__class__ is int else axis))
        keywords = ", ".join(f"{k}={ast.unparse(v)}" for k, v in (
            ("axis", ast.Constant(axis)), ("keepdims", ast.Constant(
                options.get("keepdims", False)))) if k == "axis" or v.value)
        text = f"np.{reduce}.reduce(A, {keywords})"
        if callee is np.mean:
            text += f" / {count}"
        return _located(self.parsed(text, A=node.args[0]), node)

    def made_array(self, callee, facts):
        """The fact of a new array (np.zeros(n), np.full(n, x0), ...): of
        the shape and dtype NumPy gives it, found without filling one."""
        like = callee in (np.zeros_like, np.ones_like, np.empty_like,
                          np.full_like)
        first = facts[0]
        if first is None or like and first.kind != "array":
            return None
        if len(facts) != (2 if callee in (np.full, np.full_like) else 1):
            return None
        if callee in (np.full, np.full_like):
            fill = _result(np.asarray, facts[1:])
            if fill is None:
                return None
            dtype = fill.dtype
        else:
            dtype = first.dtype if like else np.dtype(float)
        if like:
            return Fact("array", first.shape, dtype)
        size = _exact(first)
        if size.__class__ is int:
            size = (size,)
        if size.__class__ is not tuple or not all(
                n.__class__ is int and n >= 0 for n in size):
            return None
        return Fact("array", size, dtype)

    def fact(self, node):
        """The fact of an expression already rewritten."""
        return self.known.get(id(node), (None, None))[0]

    def made(self, node, fact):
        """The origins of a new value (an operation's result)."""
        return {id(node)} if fact is not None else None

    def origin(self, node):
        """The origins of an expression already rewritten."""
        return self.known.get(id(node), (None, None))[1]

    # -- runtime helpers --------------------------------------------------

    def helper_unbroadcast(self, node):
        if len(node.args) != 2 or node.keywords:
            return None
        g, x = node.args
        gf, xf = self.fact(g), self.fact(x)
        if gf is None or xf is None:
            return None
        if gf.kind == "array" == xf.kind and gf.dtype == _F8 == xf.dtype:
            if gf.shape == xf.shape:  # (as the helper returns it)
                return g, gf, self.origin(g)
            return self.summed(node, g, gf, xf.shape)  # (a new array)
        if gf.kind == "float" or gf.kind in _NUMBERS and xf.kind in \
                _NUMBERS:
            return g, gf, set()  # (a number, given back)
        if gf.kind == "array" and gf.dtype == _F8 and xf.kind in (
                "float", "float64"):  # (summed into a Python float)
            total = self.summed(node, g, gf, ())[0]
            made = ast.Call(ast.Name(self.reach(float, "float"), ast.Load()),
                            [total], [])
            return _located(made, node), _FLOAT, set()
        return None

    def helper_shape(self, node):
        x = self.fact(node.args[0]) if len(node.args) == 1 else None
        if x is None or x.kind not in ("array", "int") + _NUMBERS:
            return None  # (a Python number's is `()`, as `shape` gives it)
        return node, Fact("shape", x.shape, None), set()

    def helper_unbroadcast_to(self, node):
        if len(node.args) != 2 or node.keywords:
            return None
        g, shape = self.fact(node.args[0]), _exact(self.fact(node.args[1]))
        if g is None or shape.__class__ is not tuple or \
                g.kind not in ("array",) + _NUMBERS:
            return None
        if g.kind == "float" or g.shape == shape:  # (given back)
            return node.args[0], g, self.origin(node.args[0])
        if g.kind == "array" and g.dtype == _F8:
            return self.summed(node, node.args[0], g, shape)
        fact = _result(lambda a: runtime.unbroadcast_to(a, shape), [g])
        return (node, fact, {id(node)}) if fact is not None else None

    def summed(self, node, g, gf, shape):
        """A float64 array `g` summed to `shape` as the helpers do it:
        `np.add.reduce(g, axis=None)` for a number, else `runtime.sum_to`
        (without the helpers' tests of what they were given)."""
        fact = _result(lambda a: runtime.sum_to(a, shape), [gf])
        if fact is None:
            return None
        text = "np.add.reduce(G, axis=None)" if not shape else \
            f"runtime.sum_to(G, {shape!r})"
        return _located(self.parsed(text, G=g), node), fact, {id(node)}

    def helper_iterable(self, node):
        x = self.fact(node.args[0]) if len(node.args) == 1 else None
        if x is None or x.kind not in ("array", "list", "many list"):
            return None
        return node.args[0], x, self.origin(node.args[0])

    def helper_iterable_adjoint(self, node):
        """`g`, the adjoint of a list a loop went over."""
        if len(node.args) != 2 or node.keywords:
            return None
        g, seq = map(self.fact, node.args)
        if seq is None or seq.kind not in ("list", "many list"):
            return None
        return node.args[0], g, self.origin(node.args[0])

    def helper_keep_last(self, node):
        """`part`, of a list written at an int (once)."""
        if len(node.args) != 3 or node.keywords:
            return None
        x = self.fact(node.args[1])
        if x is None or x.kind not in ("list", "many list"):
            return None
        return node.args[0], self.fact(node.args[0]), self.origin(
            node.args[0])

    def helper_check_alone(self, node):
        """Nothing, for a number updated (rebound: no other place sees
        it)."""
        return self.passed(node, 1, _NUMBERS + ("int",))

    def helper_check_list_method(self, node):
        """Nothing, for a list."""
        return self.passed(node, 0, ("list", "many list"))

    def helper_check_item_assignment(self, node):
        """Nothing, for a list or an array (no tuple)."""
        return self.passed(node, 0, ("list", "many list", "array"))

    def passed(self, node, position, kinds):
        """Nothing in place of a check of the value at `position` among
        the call's arguments, which the facts say is of one of `kinds`."""
        value = node.args[position] if len(node.args) > position else None
        fact = None if value is None or isinstance(
            value, ast.Starred) else self.fact(value)
        if fact is None or fact.kind not in kinds:
            return None
        self.written[id(node)] = lambda _: []
        return node, None, None

    def helper_repeated(self, node):
        """A list of numbers, repeated (the call stays)."""
        if len(node.args) != 2 or node.keywords:
            return None
        items, n = map(self.fact, node.args)
        item = _item(items)
        if item is None or items.kind != "list" or n is None or \
                n.kind != "int":
            return None
        least = len(items.value) * max(n.value, 0) if \
            n.value.__class__ is int else 0
        return node, Fact("many list", (least,), None, _FLOAT if item is
                          _NOTHING else item), {id(node)}

    def helper_accumulated(self, node):
        """`total + term` written into total: total's kind (the same
        values as before: the call stays)."""
        if len(node.args) != 2 or node.keywords:
            return None
        total, term = (self.fact(a) for a in node.args)
        if total is not None and term is not None and total.kind in \
                _NUMBERS and term.kind in _NUMBERS:  # (numbers: their sum)
            fact = _result(_BINARY[ast.Add], (total, term))
            return fact and (_located(ast.BinOp(
                node.args[0], ast.Add(), node.args[1]), node), fact, set())
        if total is None or term is None or total != term or \
                total.kind != "array":
            return None
        origin = self.origin(node.args[0])
        return node, total, origin and origin | {id(node)}

    def helper_owned_adjoint(self, node):
        """A float64 array's copy (what the helper makes of one), or of the
        object array holding a list's adjoints."""
        x = self.fact(node.args[0]) if len(node.args) == 1 else None
        if x is None or (x.kind != "array" or x.dtype != _F8) and \
                x.kind not in ("objects", "many objects"):
            return None
        made = self.parsed("X.copy()", X=node.args[0])
        return _located(made, node), x, {id(node)}

    def helper_zeros_like(self, node):
        x = self.fact(node.args[0]) if len(node.args) == 1 else None
        if _item(x, "list") is not None:
            zeros = Fact("many objects", (_least(x),), None, _FLOAT)
            return node, zeros, {id(node)}  # (0.0 for each: the call stays)
        if x is not None and x.kind in _NUMBERS + ("int",):
            made = ast.Constant(0.0)  # (a number's: as the helper gives)
            return _located(made, node), _FLOAT._replace(value=0.0), set()
        if x is None or x.kind not in ("array", "like") or x.dtype.kind != \
                "f":
            return None
        return self.zeros(node, x._replace(kind="array"))

    def zeros(self, node, fact):
        """`np.zeros(shape)` for a new float64 array of zeros; for one of
        another dtype, the call as it is."""
        if fact.dtype != _F8:
            return node, fact, {id(node)}
        made = self.parsed(f"np.zeros({fact.shape!r})")
        return _located(made, node), fact, {id(node)}

    def helper_divide(self, node):
        """`a / b` where a is a NumPy value (which divides by zero without
        raising: inf or nan, as the helper gives)."""
        if len(node.args) != 2 or node.keywords:
            return None
        a, b = (self.fact(n) for n in node.args)
        if a is None or b is None or a.kind not in ("array", "float64") or \
                b.kind == "shape":
            return None
        fact = _result(lambda x, y: x / y, (a, b))
        if fact is None:
            return None
        return _located(ast.BinOp(node.args[0], ast.Div(), node.args[1]),
                        node), fact, {id(node)}

    def helper_matmul_adjoint_a(self, node):
        return self.product(node, _MATMUL_A, 1)

    def helper_matmul_adjoint_b(self, node):
        return self.product(node, _MATMUL_B, 2)

    def product(self, node, ways, which):
        if len(node.args) != 3 or node.keywords:
            return None
        facts = [self.fact(a) for a in node.args]
        g, a, b = facts
        if None in facts or a.kind != "array" or b.kind != "array" or \
                a.dtype != _F8 or b.dtype != _F8 or g.dtype != _F8 or \
                g.kind == "int":
            return None
        way = ways.get((len(a.shape), len(b.shape)))
        if way is None or "[..., None]" in way and g.kind != "array" or \
                not all(isinstance(arg, (ast.Name, ast.Constant))
                        for arg in node.args):
            return None
        expression = _substitute(ast.parse(way, mode="eval").body,
                                 dict(zip("gab", node.args)))
        fact = _result(lambda *v: eval(way, {}, dict(zip("gab", v))), facts)
        if fact is None or fact.shape != facts[which].shape:
            return None
        return _located(expression, node), fact, {id(node)}

    def helper_getitem_adjoint(self, node):
        if len(node.args) != 3 or node.keywords:
            return None
        g, x, index = node.args
        return self.scattered(node, None, x, [(g, index)], False, False)

    def helper_getitem_adjoints(self, node):
        options = {k.arg: k.value for k in node.keywords}
        if len(node.args) < 4 or len(node.args) % 2 or set(options) - {
                "owned", "replaced"} or not all(
                    isinstance(v, ast.Constant) for v in options.values()):
            return None
        total, x = node.args[:2]
        if isinstance(total, ast.Constant) and total.value is None:
            total = None
        return self.scattered(
            node, total, x, list(zip(node.args[2::2], node.args[3::2])),
            getattr(options.get("owned"), "value", False),
            getattr(options.get("replaced"), "value", False))

    def scattered(self, node, total, x, pairs, owned, replaced):
        """`total + getitem_adjoint(g1, x, index1) + ...` (see
        runtime.getitem_adjoints) of a float64 array x (or what a tape
        keeps of one), float64 gs and basic indices, as the helper does it:
        an array of zeros (or total, or its copy), each g added into (or,
        `replaced`, the first written to) its part. Statements, for the
        assignment the call is the value of (`written`)."""
        xf = self.fact(x)
        if any(isinstance(a, ast.Starred) for a in node.args):
            return None
        if _item(xf, "list") is not None:
            return self.scattered_items(node, total, x, pairs, owned,
                                        replaced)
        if xf is None or xf.kind not in ("array", "like") or \
                xf.dtype != _F8:
            return None
        array = xf._replace(kind="array")
        if total is not None and self.fact(total) != array:
            return None
        made_here = total is not None and self.made_here(total)
        if owned and not made_here and not isinstance(total, ast.Name):
            return None  # (read once: the helper reads it twice)
        if total is None and len(pairs) == 1 and _integer_index(
                self.fact(pairs[0][1])) and getattr(self.fact(
                    pairs[0][0]), "dtype", None) == _F8:
            # (`p[np.arange(n), y]`'s: indices that may repeat, added by
            # np.add.at; the call stays, its result known)
            return node, array, {id(node)}
        for g, index in pairs:
            gf, place = self.fact(g), self.index(index)
            if gf is None or gf.kind not in ("array", "float", "float64") \
                    or gf.dtype != _F8 or place is None or not isinstance(
                        index, (ast.Name, ast.Constant, ast.Tuple, ast.Call)):
                return None
            part = _result(lambda a: a[place], (array,))
            added = _result(lambda a, v: a[place] + v, (array, gf))
            if part is None or added is None or added._replace(
                    value=None) != part._replace(value=None):
                return None  # (a g that would broadcast the part it is in)

        def write(name):
            load = ast.Name(name.id, ast.Load())
            if total is None:
                start = self.parsed(f"np.zeros({xf.shape!r})")
            elif owned and made_here:
                start = total
            elif owned:
                start = self.parsed("T if T.flags.writeable else T.copy()",
                                    T=total)
            else:
                start = self.parsed("T.copy()", T=total)
            made = [ast.Assign([name], start)]
            for i, (g, index) in enumerate(pairs):
                target = ast.Subscript(load, self.subscript(index),
                                       ast.Store())
                made.append(ast.Assign([target], g) if replaced and i == 0
                            else ast.AugAssign(target, ast.Add(), g))
            return made
        self.written[id(node)] = write
        origin = {id(node)}
        if owned and total is not None:
            origin = None if self.origin(total) is None else \
                self.origin(total) | origin
        return node, array, origin

    def scattered_items(self, node, total, x, pairs, owned, replaced):
        """The same of a list x of numbers read at ints, of number gs:
        each g added to its item's adjoint (`replaced`: the first written)
        as the helper adds them, in `total` (the object array holding x's
        adjoints, or what `cleared` makes of one) where it is `owned`,
        else in its copy, or (total None) in zeros: statements (see
        `written`). `getitem_adjoint`'s zeros with g added: the call
        stays."""
        xf, added = self.fact(x), [(g, self.fact(g)) for g, _ in pairs]
        if any(f is None or f.kind not in _NUMBERS for _, f in added) or \
                not all(_position(self.fact(i)) for _, i in pairs):
            return None
        if total is None and len(pairs) == 1 and \
                _is_call_of(node, "getitem_adjoint"):
            zeros = Fact("many objects", (_least(xf),), None, _FLOAT)
            fact = _many_of("objects", zeros, _result(
                _BINARY[ast.Add], (_FLOAT, added[0][1])))
            return fact and (node, fact, {id(node)})  # (the call stays)
        cleared = None  # (`runtime.cleared(g, index)` decided: inlined)
        if _is_call_of(total, "cleared") and id(total) in self.written:
            cleared, total = total, total.args[0]
        fact = Fact("many objects", (_least(xf),), None, _FLOAT) if \
            total is None else self.fact(cleared or total)
        if not isinstance(total, (ast.Name, type(None))) or \
                cleared is not None and (not owned or replaced):
            return None
        if replaced:
            fact = _many_of("objects", fact, _FLOAT)  # (0.0 at index1)
        for _, g in added:
            fact = _many_of("objects", fact, _result(
                _BINARY[ast.Add], (_item(fact), g)))
        if fact is None:
            return None

        def write(name):
            made = [] if cleared is None else self.written[id(cleared)](None)
            if total is None:  # (zeros: 0.0 for each item)
                made.append(ast.Assign([name], self.parsed(
                    "runtime.zeros_like(X)", X=x)))
            elif not owned or name.id != total.id:  # (`b = b` left out)
                start = ast.Name(total.id, ast.Load())
                made.append(ast.Assign([name], start if owned else
                                       self.parsed("T.copy()", T=start)))
            load = ast.Name(name.id, ast.Load())
            for i, (g, index) in enumerate(pairs):  # (as the helper adds)
                place = ast.Subscript(load, index, ast.Store())
                made.append(ast.Assign([place], g) if replaced and i == 0
                            else ast.AugAssign(place, ast.Add(), g))
            return made
        self.written[id(node)] = write
        if cleared is not None:
            self.inlined[id(node)] = cleared
        return node, fact, self.origin(total) if owned and total is not \
            None else {id(node)}

    def subscript(self, index):
        """The index `index` (an argument of a helper) written as a
        subscript's: `slice(1, None, None)` as `1:`."""
        if isinstance(index, ast.Tuple):
            return ast.Tuple([self.subscript(e) for e in index.elts],
                             ast.Load())
        if isinstance(index, ast.Call) and self.resolve(index.func) is \
                slice and not index.keywords and 1 <= len(index.args) <= 3:
            bounds = [None if isinstance(b, ast.Constant) and b.value is
                      None else b for b in index.args]
            if len(bounds) == 1:
                bounds = [None] + bounds
            return ast.Slice(*bounds)
        return index

    def helper_setitem_owned(self, node, args=None):
        """`x[index] = value` in x, an array made here (writeable)."""
        if args is None and (len(node.args) != 3 or node.keywords):
            return None
        x, index, value = args or node.args
        xf, vf, origin = self.fact(x), self.fact(value), self.origin(x)
        listed = _many_of("list", xf, vf)  # (a list's number, at an int)
        if listed is not None and isinstance(x, ast.Name) and _position(
                self.fact(index)):
            xf = listed
        elif xf is None or xf.kind != "array" or xf.dtype != _F8 or \
                not isinstance(x, ast.Name) or not self.made_here(x) or \
                vf is None or vf.kind not in ("array", "float", "float64"):
            return None

        def write(name):
            return [self.item_written(x, index, value),
                    ast.Assign([name], ast.Name(x.id, ast.Load()))]
        self.written[id(node)] = write
        return node, xf, origin

    def helper_overwritten(self, node):
        """What `x[index] = ...` overwrites, copied, of an array made here
        (writeable): `x[index].copy()`, or the number read."""
        if len(node.args) != 2 or node.keywords:
            return None
        x, index = node.args
        xf, place = self.fact(x), self.index(index)
        if _item(xf, "list") not in (None, _NOTHING) and _position(
                self.fact(index)):
            read = ast.Subscript(x, index, ast.Load())  # (a number)
            return _located(read, node), _item(xf), set()
        if xf is None or xf.kind != "array" or place is None or \
                not self.made_here(x):
            return None
        part = _result(lambda a: a[place], (xf,))
        if part is None:
            return None
        read = ast.Subscript(x, self.subscript(index), ast.Load())
        if part.kind == "array":
            read = ast.Call(ast.Attribute(read, "copy", ast.Load()), [], [])
        return _located(read, node), part, {id(node)}

    def helper_setitem_in_place(self, node):
        """`x[index] = value` in x, whose overwritten part was copied
        (`old`: a value, not the helper's mark of a copy to make)."""
        if len(node.args) != 4 or node.keywords or \
                self.fact(node.args[3]) is None:
            return None
        return self.helper_setitem_owned(node, node.args[:3])

    def helper_restore(self, node):
        """`x[index] = old`, what a setitem overwrote put back (`old`, a
        value: see helper_setitem_in_place)."""
        if len(node.args) != 3 or node.keywords:
            return None
        x, index, old = node.args
        xf, of = self.fact(x), self.fact(old)
        if xf is None or of is None or not isinstance(x, ast.Name) or (
                xf.kind != "array" and not (_many_of("list", xf, of) and
                                            _position(self.fact(index)))):
            return None

        self.written[id(node)] = lambda _: [self.item_written(x, index, old)]
        return node, None, None

    def item_written(self, x, index, value):
        """`x[index] = value`, of the name x and a helper's index."""
        target = ast.Subscript(ast.Name(x.id, ast.Load()),
                               self.subscript(index), ast.Store())
        return ast.Assign([target], value)

    def made_here(self, x):
        """Is `x` an array an operation of the function made (so one it
        can write into)?"""
        origin = self.origin(x)
        return origin is not None and not origin & self.parameters

    def helper_attribute_cotangent(self, node):
        """The adjoint of an array's `.T`: `g.T`."""
        if len(node.args) != 3 or node.keywords:
            return None
        g, x, name = node.args
        gf, xf = self.fact(g), self.fact(x)
        if gf is None or gf.kind != "array" or xf is None or \
                xf.kind != "array" or not isinstance(name, ast.Constant) \
                or name.value != "T":
            return None
        return _located(ast.Attribute(g, "T", ast.Load()), node), \
            _result(lambda a: a.T, (gf,)), self.origin(g)

    def helper_check_unpacking(self, node):
        """Nothing, where the shape unpacked has as many items."""
        if len(node.args) != 2 or node.keywords:
            return None
        value, n = self.fact(node.args[0]), self.fact(node.args[1])
        if value is None or value.kind != "shape" or n is None or \
                n.value != len(value.shape):
            return None
        self.written[id(node)] = lambda _: []
        return node, None, None

    def helper_setitem(self, node):
        """A copy of x with `x[index] = value`: x's kind (the call
        stays)."""
        if len(node.args) != 3 or node.keywords:
            return None
        x, value = self.fact(node.args[0]), self.fact(node.args[2])
        if x is None or x.kind != "array" or x.dtype != _F8 or \
                value is None or value.kind not in ("array", "float",
                                                     "float64", "int"):
            return None
        return node, x, {id(node)}

    def helper_item_adjoint(self, node):
        """`g[index]`."""
        if len(node.args) != 2 or node.keywords:
            return None
        g, index = node.args
        gf, place = self.fact(g), self.index(index)
        if _item(gf, "objects") not in (None, _NOTHING) and _position(
                self.fact(index)):  # (a list's adjoint: an item)
            read = ast.Subscript(g, index, ast.Load())
            return _located(read, node), _item(gf), set()
        if gf is None or gf.kind != "array" or place is None:
            return None
        fact = _result(lambda a: a[place], (gf,))
        read = _located(ast.Subscript(g, self.subscript(index), ast.Load()),
                        node)
        return read, fact, self.origin(g) if fact is not None and \
            fact.kind == "array" else set()

    def helper_item_adjoint_copy(self, node):
        """`g[index]`, copied where that is a view of g."""
        done = self.helper_item_adjoint(node)
        if done is None or done[1] is None or done[1].kind != "array":
            return done
        copied = ast.Call(ast.Attribute(done[0], "copy", ast.Load()), [], [])
        return _located(copied, node), done[1], {id(node)}

    def helper_through_cast(self, node):
        """`g`, carried through a cast to floats."""
        if len(node.args) != 2 or node.keywords:
            return None
        g, cast = node.args
        cf = self.fact(cast)
        if cf is None or (cf.kind not in ("array", "like", "float64") or
                          cf.dtype.kind != "f") and \
                cf.kind not in ("list", "tuple", "many list"):
            return None  # (a list or tuple has no dtype: g as it is)
        return g, self.fact(g), self.origin(g)

    def helper_like(self, node):
        x = self.fact(node.args[0]) if len(node.args) == 1 else None
        if x is not None and x.kind in ("list", "many list"):
            return node.args[0], x, self.origin(node.args[0])  # (itself)
        if x is None or x.kind != "array":
            return None
        return node, x._replace(kind="like"), set()

    def helper_appended_owned(self, node):
        """`items.append(value)` in the list items, of numbers."""
        if len(node.args) != 2 or node.keywords:
            return None
        items, value = node.args
        fact = _many_of("list", self.fact(items), self.fact(value), 1)
        if fact is None or not isinstance(items, ast.Name):
            return None

        def write(name):
            append = ast.Attribute(ast.Name(items.id, ast.Load()), "append",
                                   ast.Load())
            return [ast.Expr(ast.Call(append, [value], [])),
                    ast.Assign([name], ast.Name(items.id, ast.Load()))]
        self.written[id(node)] = write
        return node, fact, self.origin(items)

    helper_appended_in_place = helper_appended_owned

    def helper_unappended(self, node):
        """`items.pop()`, the append in place of a number to the list items
        undone (y is items then)."""
        if len(node.args) != 2 or node.keywords:
            return None
        y, items = node.args
        if _item(self.fact(items), "list") is None or not isinstance(
                items, ast.Name):
            return None
        pop = ast.Attribute(ast.Name(items.id, ast.Load()), "pop", ast.Load())
        self.written[id(node)] = lambda _: [ast.Expr(ast.Call(pop, [], []))]
        return node, None, None

    def helper_concatenated(self, node):
        """`a + b` of two lists of numbers (what the helper gives)."""
        if len(node.args) != 2 or node.keywords:
            return None
        a, b = map(self.fact, node.args)
        if _item(a, "list") is None or _item(b, "list") is None:
            return None
        items = [i for i in (_item(a), _item(b)) if i is not _NOTHING]
        item = _joined(items) if items else _FLOAT
        if item is None:
            return None
        joined = _located(ast.BinOp(node.args[0], ast.Add(), node.args[1]),
                          node)
        return joined, Fact("many list", (_least(a) + _least(b),), None,
                            item), {id(node)}

    def helper_appended(self, node):
        """A new list, items and value (the call stays)."""
        fact = _many_of("list", *map(self.fact, node.args), 1) if len(
            node.args) == 2 and not node.keywords else None
        return fact and (node, fact, {id(node)})

    def helper_cleared(self, node):
        """`g[index] = 0.0` in g, the object array holding the adjoints of
        a list's numbers (which the helpers make writeable), at an int."""
        if len(node.args) != 2 or node.keywords:
            return None
        g, index = node.args
        gf = _many_of("objects", self.fact(g), _FLOAT)
        if gf is None or not isinstance(g, ast.Name) or not _position(
                self.fact(index)):
            return None

        def write(name):
            made = [self.item_written(g, index, ast.Constant(0.0))]
            return made + [ast.Assign([name], ast.Name(g.id, ast.Load()))] \
                if name is not None else made
        self.written[id(node)] = write
        return node, gf, self.origin(g)

    def helper_spread_over(self, node):
        """The adjoint of `sum(items)` of a list of numbers: an object
        array of g, for each (the call stays)."""
        if len(node.args) != 2 or node.keywords:
            return None
        g, items = map(self.fact, node.args)
        if g is None or g.kind not in _NUMBERS or \
                _item(items, "list") is None:
            return None
        return node, Fact("many objects", (_least(items),), None,
                          g._replace(value=None)), {id(node)}

    def helper_as_kind_of(self, node):
        """`g`, a real adjoint of a real number (as the helper gives it)."""
        if len(node.args) != 2 or node.keywords:
            return None
        g, x = map(self.fact, node.args)
        if g is None or x is None or g.kind not in _NUMBERS or \
                x.kind not in _NUMBERS + ("int",):
            return None
        return node.args[0], g, self.origin(node.args[0])

    def updating(self, node, op):
        """`a op b` where `a op= b` keeps a's shape and dtype (the helper
        then gives a new value, of both), or a is a number."""
        if len(node.args) != 2 or node.keywords:
            return None
        a, b = (self.fact(n) for n in node.args)
        if a is not None and b is not None and a.kind in _NUMBERS and \
                b.kind in _NUMBERS + ("int",):  # (a number: rebound)
            fact = _result(_BINARY[op], (a, b))
            return fact and (_located(ast.BinOp(
                node.args[0], op(), node.args[1]), node), fact, set())
        if a is None or a.kind != "array" or b is None or \
                _result(_BINARY[op], (a, b)) != a:
            return None
        return _located(ast.BinOp(node.args[0], op(), node.args[1]), node), \
            a, {id(node)}

    def helper_iadd(self, node):
        return self.updating(node, ast.Add)

    def helper_isub(self, node):
        return self.updating(node, ast.Sub)

    def helper_imul(self, node):
        return self.updating(node, ast.Mult)

    def helper_itruediv(self, node):
        return self.updating(node, ast.Div)

    def helper_gradient(self, node):
        if len(node.args) != 2 or node.keywords:
            return None
        g, x = node.args
        if not self.plain([g], [x]):
            return None
        return g, self.fact(g), self.origin(g)

    def helper_gradients(self, node):
        if len(node.args) != 2 or node.keywords or not all(
                isinstance(a, ast.Tuple) for a in node.args):
            return None
        gs, xs = node.args[0].elts, node.args[1].elts
        if len(gs) != len(xs) or not self.plain(gs, xs):
            return None
        return node.args[0], None, None

    def plain(self, gs, xs):
        """Is each of `gs` a float64 array of the float64 array parameter
        `x`'s shape, none sharing memory with another or with a parameter?
        (What `runtime.gradients` returns unchanged.)"""
        taken = set(self.parameters)
        for g, x in zip(gs, xs):
            gf, xf = self.fact(g), self.fact(x)
            origin = self.origin(g)
            if not isinstance(x, ast.Name) or x.id not in self.parameters \
                    or gf is None or xf is None or gf.kind != "array" or \
                    xf.kind != "array" or gf.dtype != _F8 or \
                    xf.dtype != _F8 or gf.shape != xf.shape or \
                    origin is None or origin & taken:
                return False
            taken |= origin
        return True

    def helper_tree_like(self, node):
        if len(node.args) != 2 or node.keywords:
            return None
        g, x = node.args
        xf = self.fact(x)
        if xf is None or xf.kind not in ("array", "float"):
            return None  # (the helper returns g then)
        return g, self.fact(g), self.origin(g)

    def helper_reduced_size(self, node):
        if len(node.args) != 1 or node.keywords:
            return None
        xf = self.fact(node.args[0])
        if xf is None or xf.kind != "array":
            return None
        return _located(ast.Constant(math.prod(xf.shape)), node), _INT, \
            set()

    def helper_seed(self, node):
        """The seed of an output that is a number: 1 of its kind (the call
        stays)."""
        y = self.fact(node.args[0]) if node.args else None
        if y is None or y.kind not in _NUMBERS:
            return None
        return node, y._replace(value=None), set()

    def helper_float64_seed(self, node):
        """The output is a float64 whatever the values: only NumPy's error
        handling is left to check (`float64_seed()`)."""
        if node.args and any(not isinstance(a, ast.Tuple) for a in node.args):
            return None
        keywords = {k.arg: k.value for k in node.keywords}
        if not all(isinstance(v, ast.Tuple) for v in keywords.values()):
            return None
        for group in node.args:
            facts = [self.fact(a) for a in group.elts]
            if not facts or any(f is None or f.dtype != _F8 or
                                f.kind not in ("array", "float64") or
                                f.shape != facts[0].shape for f in facts):
                return None
        for group in keywords.get("vectors", ast.Tuple([])).elts:
            facts = [self.fact(a) for a in getattr(group, "elts", [None])]
            if any(f is None or f.kind != "array" or f.dtype != _F8 or
                   len(f.shape) != 1 or f.shape != facts[0].shape
                   for f in facts):
                return None
        for a in keywords.get("numbers", ast.Tuple([])).elts:
            fact = self.fact(a)
            if fact is None or fact.kind not in ("float", "float64") and (
                    fact.kind != "int" or fact.value is None or
                    abs(fact.value) >= runtime._BIG_INT):
                return None
        for a in keywords.get("float64s", ast.Tuple([])).elts:
            if getattr(self.fact(a), "kind", None) != "float64":
                return None
        node.args, node.keywords = [], []
        self.decided += 1
        return node, None, None

    # -- statements -------------------------------------------------------

    def statements(self, body):
        done = []
        for stmt in body:
            method = getattr(self, "stmt_" + type(stmt).__name__, None)
            if method is None or not method(stmt):
                self.forget_bound(stmt)
            for node in trees.own_nodes(stmt) if self.walrus else ():
                if isinstance(node, ast.NamedExpr):  # (`(y := ...)`)
                    self.forget_bound(node)  # (its own: see the bodies')
            done += [stmt] if self.instead is None else self.instead
            self.instead = None  # (see `written`)
        body[:] = done or [_located(ast.Pass(), s) for s in body[:1]]

    def stmt_Assign(self, stmt):
        if len(stmt.targets) != 1:
            return False
        target = stmt.targets[0]
        decided = self.decided
        if _is_call_of(stmt.value, "pop"):
            self.unpacked = optimize.names_popped(stmt, ast)
        stmt.value, fact, origin = self.expr(stmt.value)
        self.unpacked = _ANY
        if isinstance(target, ast.Name):
            name = target.id
            self.facts[name], self.origins[name] = fact, origin
            write = self.written.pop(id(stmt.value), None)
            made = write and write(ast.Name(name, ast.Store()))
            if made is not None and _evaluated_alike(
                    stmt.value, made, self.inlined.get(id(stmt.value))) and \
                    name not in _names_read(ast.Tuple(_added_to(
                        stmt.value, name), ast.Load())):
                self.decided += 1  # (statements in its place)
                self.instead = [_located(m, stmt) for m in made]
            if self.decided > decided and _is_call_of(stmt.value,
                                                      "float64_seed"):
                self.seeds.add(name)
            if name in self.tapes and not (isinstance(
                    stmt.value, ast.List) and not stmt.value.elts):
                self.tapes.pop(name)  # (not a tape)
            return True
        if isinstance(target, ast.Tuple) and all(
                isinstance(t, ast.Name) for t in target.elts):
            # `a, b = _tape.pop()`: the items' kinds; their memory unknown
            items = fact.value if fact is not None and fact.kind == \
                "tuple" and len(fact.value) == len(target.elts) else \
                (None,) * len(target.elts)
            for t, item in zip(target.elts, items):
                self.facts[t.id], self.origins[t.id] = item, None
            return True
        # an element or slice written (`a[i] = v`): the array keeps its kind
        return isinstance(target, ast.Subscript) and isinstance(
            target.value, ast.Name)

    def stmt_Expr(self, stmt):
        call = stmt.value
        if _is_call_of(call, "append") and isinstance(
                call.func.value, ast.Name) and \
                call.func.value.id in self.tapes and len(call.args) == 1:
            key = optimize.names_pushed(call.args[0], ast)
            call.args[0], fact, origin = self.expr(call.args[0])
            pushed = self.tapes[call.func.value.id]
            pushed[key] = _joined([pushed[key], fact]) if key in pushed \
                else fact
            return True
        stmt.value = self.expr(stmt.value)[0]
        write = self.written.pop(id(stmt.value), None)
        made = write and write(None)
        if made is not None and _evaluated_alike(stmt.value, made):
            self.decided += 1  # (statements in its place)
            self.instead = [_located(m, stmt) for m in made]
        return True

    def stmt_Return(self, stmt):
        if stmt.value is not None:
            stmt.value = self.expr(stmt.value)[0]
        return True

    def stmt_Delete(self, stmt):
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                self.forget(target.id)
        return True

    def stmt_Pass(self, stmt):
        return True

    def stmt_If(self, stmt):
        seed = _seed_computed(stmt)
        if seed in self.seeds:
            # `if seed is None: ...; seed = runtime.seed(value)`, of a value
            # float64_seed found is a float64: 1.0 as a NumPy float64
            # either way
            self.forget_bound(stmt)
            self.facts[seed], self.origins[seed] = _FLOAT64, set()
            return True
        known = self.truth(stmt.test)
        if known is not None:  # (the branch taken, in its place)
            taken = stmt.body if known else stmt.orelse
            self.statements(taken)
            self.instead = taken
            self.decided += 1
            return True
        stmt.test = self.expr(stmt.test)[0]
        before = self.state()
        self.statements(stmt.body)
        taken = self.state()
        self.facts, self.origins = before
        self.statements(stmt.orelse)
        self.facts, self.origins = _merged([taken, self.state()],
                                           _bound(stmt))
        return True

    def stmt_For(self, stmt):
        if not isinstance(stmt.target, ast.Name) or stmt.orelse:
            return False
        stmt.iter, over, _ = self.expr(stmt.iter)
        item = _INT if over is not None and over.kind == "range" else None
        return self.loop(stmt, item)

    def stmt_While(self, stmt):
        return not stmt.orelse and self.loop(stmt, None)

    def loop(self, stmt, item):
        """A loop's statements, analysed with what holds on entry to every
        iteration: the facts on entry to the loop, joined with those at
        the end of an iteration until they no longer change (on copies of
        the body). A loop that breaks or continues, or whose facts do not
        settle, has its own names taken to be of unknown kinds."""
        bound = _bound(stmt)
        entry = self.state()
        present = set(entry[0]) | set(entry[1])  # (names bound before it)

        def enter(state):
            self.facts, self.origins = state
            if isinstance(stmt, ast.For):
                name = stmt.target.id
                self.facts[name], self.origins[name] = item, set()

        # (the memory of what the loop binds is not followed: it may be
        # an earlier iteration's; a name it binds first is unbound on
        # entry, so only what an iteration gives it is read)
        settled = None
        for name in bound & present:
            entry[1][name] = None
        jumps = any(isinstance(n, (ast.Break, ast.Continue))
                    for n in ast.walk(stmt))
        if not jumps:
            assumed = entry
            for _ in range(4):
                enter(_copied(assumed))
                self.dry_run(stmt)
                joined = _merged([assumed, self.state()], bound)
                for name in bound:
                    joined[1][name] = None
                if joined[0] == assumed[0]:
                    settled = assumed
                    break
                assumed = joined
        if settled is None:  # (its own names: unknown)
            settled = _copied(entry)
            for name in bound:
                settled[0].pop(name, None)
        enter(_copied(settled))
        if isinstance(stmt, ast.While):
            stmt.test = self.expr(stmt.test)[0]
        self.statements(stmt.body)
        # after it: what held on entry to an iteration (none ran) or at
        # the end of one (a name the body binds first, as the backward
        # sweep reads it, keeps what it is given there)
        ended = [] if jumps else [self.state()]
        none_ran = _copied(settled)
        for name in set(none_ran[1]) - present:
            del none_ran[1][name]
            none_ran[0].pop(name, None)
        self.facts, self.origins = _merged([none_ran] + ended, bound)
        return True

    def dry_run(self, stmt):
        """Analyse a copy of a loop's test and body (kept alive, so that
        the ids of its nodes are not given to others), leaving the code
        and what has been decided as they were."""
        decided, seeds = self.decided, set(self.seeds)
        body = _copy_tree(stmt.body)
        self.dry.append(body)
        if isinstance(stmt, ast.While):
            self.expr(_copy_tree(stmt.test))
        self.statements(body)
        self.decided, self.seeds = decided, seeds

    def state(self):
        return dict(self.facts), dict(self.origins)

    def forget_bound(self, stmt):
        for name in _bound(stmt):
            self.forget(name)

    def forget(self, name):
        self.facts.pop(name, None)
        self.origins[name] = None


def _integer_index(fact):
    """Is `fact` an index of int arrays (and ints) whose result's shape is
    theirs whatever their values (`(np.arange(n), y)`; not a mask)?"""
    if fact is None:
        return False
    if fact.kind == "tuple":
        return any(f is not None and f.kind == "array" for f in fact.value) \
            and all(f is not None and (f.kind == "int" or _integer_index(f))
                    for f in fact.value)
    return fact.kind == "array" and fact.dtype is not None and \
        fact.dtype.kind in "iu"


def _constant(node):
    """The value of a constant expression (`1`, `-1`, `(0, 1)`, `True`),
    or _UNKNOWN."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError,
            RecursionError):
        return _UNKNOWN


_UNKNOWN = object()
_ANY = object()  # (a pop not unpacked: see _Specialiser.tapes)


def _pushed(pushed, key):
    """The fact of what a pop unpacking into the names `key` (None: not
    unpacked; _ANY: not known) takes from a tape whose appends pushed
    `pushed` (see _Specialiser.tapes): of the appends of tuples whose
    items it names so (or, if none, of as many items), or of one value
    that may be such a tuple (or is not unpacked); None before any."""
    if key is _ANY:
        facts = list(pushed.values())
    else:
        facts = [pushed[k] for k in optimize.taken_by(key, pushed)]
        facts += [fact for k, fact in pushed.items() if k is None and (
            key is None or fact is None or fact.kind == "tuple" and
            len(fact.value) == len(key))]
    return _joined(facts) if facts else None


def _copy_tree(node):
    """A copy of a syntax tree (or a list of them): `copy.deepcopy`'s, in
    a fraction of its time."""
    if node.__class__ is list:
        return [_copy_tree(n) for n in node]
    if not isinstance(node, ast.AST):
        return node
    made = node.__class__.__new__(node.__class__)
    for field in node._fields:
        value = getattr(node, field, None)
        setattr(made, field, _copy_tree(value) if isinstance(
            value, (ast.AST, list)) else value)
    for attribute in node._attributes:
        if hasattr(node, attribute):
            setattr(made, attribute, getattr(node, attribute))
    return made


def _evaluated_alike(call, made, inlined=None):
    """Does the code `made` (a node, or statements) that takes the place of
    the helper call `call` evaluate each argument that may have an effect
    (a call) once, as the call does? Those of names, constants,
    arithmetic and slices may be read again or not at all. (`inlined`: an
    argument, a helper's call, whose work `made` does: its own arguments
    then.)"""
    written = collections.Counter(ast.dump(n) for tree in made
                                  for n in ast.walk(tree))
    arguments = [inlined.args if a is inlined else [a] for a in call.args]
    return all(written[ast.dump(a)] == 1 for a in sum(arguments, []) + [
        k.value for k in call.keywords] if not _plain(a))


def _plain(node):
    """Is the expression one whose evaluation has no effect (names,
    constants, attributes, items, arithmetic, tuples, slices)?"""
    return all(isinstance(n, (ast.Name, ast.Constant, ast.Attribute,
                              ast.Subscript, ast.Slice, ast.Tuple,
                              ast.BinOp, ast.UnaryOp, ast.expr_context,
                              ast.operator, ast.unaryop)) or
               isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and
               n.func.id == "slice" for n in ast.walk(node))


def _names_read(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _added_to(call, name):
    """The parts of a helper's call that its statements in place read
    after they bind `name`: all of it, but the array they add into where
    that is `name` itself (`a = runtime.getitem_adjoints(a, x, g, i)` ->
    `a[i] += g`)."""
    first = call.args[0] if isinstance(call, ast.Call) and call.args \
        else None
    if isinstance(first, ast.Name) and first.id == name:
        return list(call.args[1:]) + [k.value for k in call.keywords]
    return [call]


def _bound(stmt):
    """The names a statement binds or deletes."""
    return {node.id for node in ast.walk(stmt) if isinstance(
        node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del))}


def _copied(state):
    """A copy of facts and origins (a value's origins, a set, is never
    changed once made: a new one is made)."""
    return dict(state[0]), dict(state[1])


def _merged(states, among=None):
    """The facts and origins that hold after paths ending in `states`:
    a name bound on some paths only keeps what those give it. Where only
    the names `among` may differ between them, only those are joined."""
    if among is None:
        facts, origins = {}, {}
        names = set().union(*(set(f) | set(o) for f, o in states))
    else:
        facts, origins = _copied(states[0])
        names = among
        for name in among:
            facts.pop(name, None)
            origins.pop(name, None)
    for name in names:
        reached = [(f.get(name), o.get(name)) for f, o in states
                   if name in f or name in o]
        if not reached:
            continue  # (bound on no path: deleted on all)
        fact = _joined([f for f, _ in reached])
        if fact is not None:
            facts[name] = fact
        found = [o for _, o in reached]
        origins[name] = None if any(o is None for o in found) else \
            set().union(*found)
    return facts, origins


def _is_call_of(node, helper):
    return isinstance(node, ast.Call) and isinstance(
        node.func, ast.Attribute) and node.func.attr == helper


def _deferred(stmts, specialiser):
    """Move into `if seed is None:` (where the function's value is
    computed, for its seed, see `optimize.defer_value`) the statements
    before it at the function's level that only it reads, now that the
    derivative no longer does (a sum's terms, `np.logaddexp(0.0, z)`,
    whose adjoint read them for their shape): computed only when the
    value is. Only float64 arrays made by NumPy's arithmetic and ufuncs,
    which raise for no value (a Python float's `a / b` may: it stays),
    and past statements that only read. The names they bind are deleted
    after the block, not after it where they no longer are."""
    block = next((s for s in stmts if s.__class__ is ast.If and
                  _seed_computed(s) in specialiser.seeds), None)
    if block is None:
        return
    at = stmts.index(block)
    inside = {id(n) for n in ast.walk(block)}
    outside = collections.Counter(
        n.id for s in stmts for n in ast.walk(s) if id(n) not in inside
        and isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))
    moved, bound = [], set()
    passed = set()  # what the statements moved past bind or delete
    for stmt in reversed(stmts[:at]):
        target = stmt.targets[0] if stmt.__class__ is ast.Assign and len(
            stmt.targets) == 1 else None
        if stmt.__class__ is ast.Delete:
            passed.update(getattr(t, "id", None) for t in stmt.targets)
            continue
        if not isinstance(target, ast.Name) or \
                target.id in specialiser.parameters:
            break  # (a statement that may change what is read)
        if outside[target.id] or not _raises_for_nothing(
                stmt.value, specialiser) or _names_read(stmt.value) & passed:
            passed.add(target.id)
            continue  # (read elsewhere, left for its error, or reading
            # what a statement after it changes)
        moved.insert(0, stmt)
        bound.add(target.id)
        for n in ast.walk(stmt.value):  # (what it reads, read in the block)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                outside[n.id] -= 1
    if not moved:
        return
    for stmt in moved:
        stmts.remove(stmt)
        _located(stmt, block.body[0])  # (shown in the block: see `_shown`)
    deletion = ast.copy_location(ast.Delete(
        [ast.Name(name, ast.Del()) for name in sorted(bound)]), block.body[-1])
    deletion.freed = True  # (shown after the block's last statement)
    block.body[:0] = moved
    block.body.append(deletion)
    _undeleted(stmts, bound)


def _unread_dropped(stmts, specialiser):
    """Drop the assignments to names nothing reads (but themselves) of
    values that raise for nothing: the value of a function whose seed the
    facts decided (`_t17 = _t10 - _t14 * _t5_2` of Python floats), a flag
    whose test was decided (`_numpy_floats = False`). Only names that every
    store of is such an assignment, deleted from the `del` statements too
    (the general code keeps them: arrays there may not broadcast, and
    NumPy float64s may raise for overflow)."""
    stores = collections.defaultdict(list)  # name -> its assignments
    loads = collections.Counter()
    simple = set()  # (the targets of those assignments)
    for node in (n for s in stmts for n in ast.walk(s)):
        if node.__class__ is ast.Name and node.ctx.__class__ is ast.Load:
            loads[node.id] += 1
        elif node.__class__ is ast.Assign and len(node.targets) == 1 and \
                node.targets[0].__class__ is ast.Name:
            stores[node.targets[0].id].append(node)
            simple.add(id(node.targets[0]))
        elif node.__class__ is ast.Name and node.ctx.__class__ is \
                ast.Store and id(node) not in simple:
            stores[node.id].append(None)  # (bound otherwise: kept)
    stores = {name: assigned for name, assigned in stores.items()
              if name not in specialiser.parameters}
    dropped = set()
    changed = True
    while changed:
        changed = False
        for name, assigned in stores.items():
            if name in dropped or None in assigned:
                continue
            own = sum(1 for a in assigned for n in ast.walk(a.value)
                      if n.__class__ is ast.Name and n.id == name)
            if loads[name] > own or not all(
                    _quiet(a.value, specialiser) for a in assigned):
                continue
            dropped.add(name)
            changed = True
            for node in (n for a in assigned for n in ast.walk(a.value)):
                if node.__class__ is ast.Name:
                    loads[node.id] -= 1
    if not dropped:
        return
    gone = {id(a) for name in dropped for a in stores[name]}
    for block in _blocks(stmts):
        block[:] = [s for s in block if id(s) not in gone]
        _undeleted(block, dropped)
        block[:] = block or [ast.Pass()]


def _undeleted(stmts, names):
    """Take `names` out of the `del` statements of the block `stmts`,
    dropping those left with nothing to delete."""
    for stmt in stmts:
        if stmt.__class__ is ast.Delete:
            stmt.targets = [t for t in stmt.targets
                            if getattr(t, "id", None) not in names]
    stmts[:] = [s for s in stmts if s.__class__ is not ast.Delete or
                s.targets]


def _blocks(stmts):
    """`stmts` and every statement list nested in them."""
    yield stmts
    for stmt in stmts:
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and isinstance(
                    inner[0], ast.stmt):
                yield from _blocks(inner)


def _quiet(expr, specialiser):
    """Does `expr` raise for no value: a constant, a bound name, `+`, `-`
    and `*` of Python floats (and small int constants), or NumPy's
    arithmetic on float64 arrays (`_raises_for_nothing`)?"""
    if expr.__class__ is ast.Constant:
        return True
    fact = specialiser.fact(expr)
    if expr.__class__ is ast.Name:
        return fact is not None
    if expr.__class__ is ast.BinOp and expr.op.__class__ in (
            ast.Add, ast.Sub, ast.Mult) or expr.__class__ is ast.UnaryOp and \
            expr.op.__class__ in (ast.USub, ast.UAdd):
        operands = [expr.left, expr.right] if expr.__class__ is ast.BinOp \
            else [expr.operand]
        if getattr(fact, "kind", None) == "float" and all(
                getattr(specialiser.fact(o), "kind", None) == "float" or
                o.__class__ is ast.Constant and type(o.value) in (
                    int, float) and abs(o.value) < 2 ** 53
                for o in operands) and all(
                    _quiet(o, specialiser) for o in operands):
            return True
    return _raises_for_nothing(expr, specialiser)


def _raises_for_nothing(expr, specialiser):
    """Is `expr` NumPy's arithmetic or ufuncs on float64 arrays (each of
    its operations makes one: a float64 array of a known shape), which
    raise for no value, only warn?"""
    for node in ast.walk(expr):
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call)):
            fact = specialiser.fact(node)
            if fact is None or fact.kind != "array" or fact.dtype != _F8:
                return False
            if isinstance(node, ast.Call) and not isinstance(
                    specialiser.resolve(node.func), np.ufunc):
                return False
            if isinstance(node, ast.BinOp) and not isinstance(
                    node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
                return False
        elif not isinstance(node, (ast.Name, ast.Constant, ast.Load,
                                   ast.operator, ast.unaryop)) and \
                not isinstance(node, ast.Attribute):
            return False
    return True


def _seed_computed(stmt):
    """X of `if X is None: ...` (where a seed is computed), or None."""
    test = getattr(stmt, "test", None)
    if isinstance(stmt, ast.If) and isinstance(test, ast.Compare) and \
            isinstance(test.left, ast.Name) and len(test.ops) == 1 and \
            isinstance(test.ops[0], ast.Is) and \
            isinstance(test.comparators[0], ast.Constant) and \
            test.comparators[0].value is None and not stmt.orelse:
        return test.left.id
    return None


def _located(tree, like):
    """`tree`, each of its nodes given the place of the node `like` (the
    statement it stands in keeps its line)."""
    for node in ast.walk(tree):
        if "lineno" in node._attributes:
            ast.copy_location(node, like)
            node.end_lineno, node.end_col_offset = like.end_lineno, \
                like.end_col_offset
    return tree


def _substitute(tree, names):
    """`tree` with the names of `names` replaced by copies of its nodes."""
    class Put(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.copy_location(copy.deepcopy(
                names[node.id]), node) if node.id in names else node
    return Put().visit(tree)


_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
           ast.Pow: lambda a, b: a ** b, ast.MatMult: lambda a, b: a @ b}
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: +a}


def specialised(function, args, kwargs, general, required=()):
    """`function` (generated code) specialised to the kinds of `args` and
    `kwargs`, a call's arguments, behind a guard that calls `general`
    (`function`, or what calls it) for any others; or None where nothing
    would be decided. The guard checks the parameters at the positions
    `required` (the differentiated ones), or nothing is made. (A failure
    to specialise leaves the general code, which computes the same; a
    test run that compares the two, `CHECKED`, sees it.)"""
    try:
        return _specialised(function, args, kwargs, general, required)
    except RecursionError:  # (an expression nested too deep to copy)
        return None
    except Exception:
        if CHECKED is not None:
            raise
        return None


def _specialised(function, args, kwargs, general, required):
    code = function.__code__
    if code.co_flags & (0x04 | 0x08) or code.co_kwonlyargcount or \
            code.co_posonlyargcount:
        return None  # (*args, **kwargs, keyword-only parameters)
    params = code.co_varnames[:code.co_argcount]
    if len(args) > len(params):
        return None  # (a call that does not fit: the general code says so)
    given = dict(zip(params, args))
    given.update(kwargs)
    defaults = function.__defaults__ or ()
    for name, value in zip(params[len(params) - len(defaults):], defaults):
        given.setdefault(name, value)
    if set(given) != set(params):
        return None
    facts = {p: fact_of(given[p]) for p in params}
    facts = {p: f for p, f in facts.items() if f is not None}
    if any(i >= len(params) or params[i] not in facts for i in required):
        return None
    text = errors.source_text(code.co_filename)
    if text is None:
        return None
    tree = ast.parse(text)
    definition = tree.body[0]
    if not isinstance(definition, ast.FunctionDef) or \
            definition.name != code.co_name:
        return None
    taken, local, walrus = set(), set(params), False  # (one walk)
    for n in ast.walk(definition):
        if n.__class__ is ast.Name:
            taken.add(n.id)
            if n.ctx.__class__ is not ast.Load:
                local.add(n.id)
        walrus = walrus or n.__class__ is ast.NamedExpr
    if code.co_name in taken:
        return None
    body = definition.body
    start = 1 if ast.get_docstring(definition) else 0
    names = _Names(taken | set(code.co_freevars) | set(params))

    specialiser = _Specialiser(function, facts, names)
    specialiser.parameters, specialiser.local = set(facts), local
    specialiser.walrus = walrus
    tapes = optimize.tape_lists(definition, ast)
    specialiser.tapes = {name: {} for name in tapes}
    stmts = body[start:]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (for `_result`'s stand-ins)
        specialiser.statements(stmts)
    other = _handed_on(stmts, specialiser, params)
    if other is not None:  # (the float code, given arrays: the arrays code)
        return _specialised(other, args, kwargs, general, required)
    # a tape's pops are analysed after its appends (the forward sweep comes
    # first): each pop must have given what every append it takes from
    # pushed, or not known it (before any append, in a loop's first round)
    if any(fact is not None and fact != _pushed(
            specialiser.tapes.get(name, {}), key)
           for name, key, fact in specialiser.popped):
        return None
    specialiser.decided += _spread_lazily(stmts, specialiser)
    _deferred(stmts, specialiser)
    if not specialiser.decided:
        return None
    _unread_dropped(stmts, specialiser)
    optimize.drop_dead_tape_items(stmts, set(tapes), ast)
    _numbers_apart(stmts, specialiser, set(tapes))
    stmts = _freed(definition, stmts)
    body[start:] = stmts
    body.insert(start, _guard(definition, facts, specialiser.globals_read,
                              names, specialiser.reach, body[start], general))
    made = _compiled(function, tree, names)
    # (shown when asked for: `.specialised_source`)
    made.__s2sad_specialised__ = lambda: _shown(text, definition, start)
    return made


def _handed_on(stmts, specialiser, params):
    """The generated function the code calls at once with all its
    arguments and returns the result of, once its branches on the
    arguments' kinds are taken (`return grad_f_arrays(x, n)`), or None:
    it is what is to be specialised."""
    first = stmts[0] if stmts else None
    if not (isinstance(first, ast.Return) and isinstance(
            first.value, ast.Call)) or first.value.keywords or [
                getattr(a, "id", None) for a in first.value.args] != list(
                    params):
        return None
    other = specialiser.resolve(first.value.func)
    code = getattr(other, "__code__", None)
    if not isinstance(other, types.FunctionType) or other is \
            specialiser.function or errors.source_text(
                code.co_filename) is None or \
            code.co_varnames[:code.co_argcount] != tuple(params):
        return None
    return other


def _spread_lazily(stmts, specialiser):
    """Each `t = runtime.unreduce(g, x, ...)` (the adjoint of a sum: g
    spread over x's shape), or its negation, whose t is only an operand of
    `+`, `-`, `*` or `/` with a value that gives the result x's shape
    anyway, made g with the axes the sum took put back (as
    `runtime.expand_reduced`): NumPy then broadcasts it, to the same
    values, without the copy. How many."""
    parents, stores = {}, collections.Counter()
    loads = collections.defaultdict(list)
    for node in (n for stmt in stmts for n in ast.walk(stmt)):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loads[node.id].append(node)
            elif isinstance(node.ctx, ast.Store):
                stores[node.id] += 1
    spread = 0
    for call in list(parents):
        if not (isinstance(call, ast.Call) and specialiser.resolve(
                call.func) is runtime.unreduce and 2 <= len(call.args) <= 4
                and not call.keywords and all(
                    isinstance(o, ast.Constant) for o in call.args[2:])):
            continue
        held = parents[call]  # (the value of `t = ...`, or an operand)
        value = held if isinstance(held, ast.UnaryOp) and isinstance(
            held.op, ast.USub) else call  # (-unreduce(...): the same)
        top = parents.get(held) if value is held else held
        if isinstance(top, ast.Assign) and len(top.targets) == 1 and \
                isinstance(top.targets[0], ast.Name) and \
                stores[top.targets[0].id] == 1 and \
                top.targets[0].id not in specialiser.parameters:
            uses = _uses(loads[top.targets[0].id], parents, loads, stores,
                         specialiser)
        elif isinstance(top, ast.BinOp):
            uses = [value]
        else:
            continue
        g, x = call.args[:2]
        options = [o.value for o in call.args[2:]]
        gf, xf = specialiser.fact(g), specialiser.fact(x)
        spread_fact = _result(
            lambda gv, xv: runtime.expand_reduced(gv, xv, *options),
            (gf, xf)) if gf is not None and xf is not None else None
        if spread_fact is None or not all(_broadcast_alike(
                parents.get(use), use, spread_fact, specialiser)
                for use in uses):
            continue
        made = g if not options or spread_fact._replace(
            value=None) == gf._replace(value=None) else _located(
            specialiser.parsed(f"runtime.expand(G, {options[0]!r})", G=g),
            call)
        for field, value in ast.iter_fields(held):
            if value is call:
                setattr(held, field, made)
        spread += 1
    return spread


def _freed(definition, stmts):
    """`stmts`, the specialised function's body, with a `del` after the
    top-level statements that last read what the general code went on
    reading (the helpers' operands): freed as soon as `optimize._free`
    would free them (see `optimize.freed_at_top_level`)."""
    function = ast.FunctionDef(definition.name, definition.args, stmts, [],
                               None, None)
    tree = gast.ast_to_gast(function)
    kept = optimize.kept_names(tree, "runtime")
    freed = optimize.freed_at_top_level(tree.body, kept)
    out = []
    for i, stmt in enumerate(stmts):
        out.append(stmt)
        if i in freed:
            deletion = ast.Delete([ast.Name(name, ast.Del())
                                   for name in sorted(freed[i])])
            deletion.freed = True  # (shown after the statement: `_shown`)
            out.append(ast.copy_location(deletion, stmt))
    return out


def _numbers_apart(stmts, specialiser, tapes):
    """Each NumPy float64 a loop keeps alone on one of the `tapes` (that
    the statement `tape.append(x)` pushes, and `x = tape.pop()` alone
    takes back), or each tuple of them, kept on a tape of numbers instead
    (`runtime.number_tape`), 8 bytes each: a Gaussian-process kernel built
    element by element keeps 900 float64s in 7 KiB, not 29 KiB of objects.
    Each is taken back as a NumPy float64 again (the same number). (Not
    Python floats: a loop of numbers pushes and pops them on a list in
    half the time, and speed is what such a loop is short of.)
    The tape is made one where it keeps nothing else; else a tape of
    numbers is made beside it (after it, and deleted with it)."""
    pushes, pops = collections.defaultdict(list), {}
    deletions = collections.defaultdict(list)
    for stmt in (n for s in stmts for n in ast.walk(s)):
        if isinstance(stmt, ast.Expr) and _is_call_of(stmt.value, "append"):
            tape = getattr(stmt.value.func.value, "id", None)
            pushes[tape].append(stmt)
        elif isinstance(stmt, ast.Assign) and _is_call_of(stmt.value, "pop"):
            key = (getattr(stmt.value.func.value, "id", None),
                   ast.dump(stmt.targets[0]))
            pops[key] = None if key in pops else stmt  # (one, or None)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                deletions[getattr(target, "id", None)].append(stmt)
    made = {stmt.targets[0].id: i for i, stmt in enumerate(stmts)
            if isinstance(stmt, ast.Assign) and isinstance(
                stmt.targets[0], ast.Name) and stmt.targets[0].id in tapes}
    for tape in sorted(set(pushes) & set(made)):
        apart = []  # (push, its pop)
        for push in pushes[tape]:
            item = push.value.args[0]
            many = isinstance(item, ast.Tuple)
            items = item.elts if many else [item]
            targets = [ast.Name(getattr(i, "id", None), ast.Store())
                       for i in items]
            pop = pops.get((tape, ast.dump(ast.Tuple(
                targets, ast.Store()) if many else targets[0])))
            kinds = {getattr(specialiser.fact(i), "kind", None)
                     for i in items}
            if all(isinstance(i, ast.Name) for i in items) and \
                    pop is not None and kinds == {"float64"}:
                apart.append((push, pop))
        if not apart:
            continue
        alone = len(apart) == len(pushes[tape])
        numbers = tape if alone else specialiser.names.of(
            tape + "_numbers", None)
        specialiser.names.cells.pop(numbers, None)  # (a local, not a cell)
        for push, pop in apart:
            push.value.func.value = ast.Name(numbers, ast.Load())
            pop.value.func.value = ast.Name(numbers, ast.Load())
            item = push.value.args[0]
            if isinstance(item, ast.Tuple):  # (float64s: one after another)
                push.value.func.attr = "extend"
                pop.value = _located(specialiser.parsed(
                    f"runtime.float64s_popped(T, {len(item.elts)})",
                    T=pop.value.func.value), pop)
            else:
                pop.value = _located(specialiser.parsed(
                    "np.float64(P)", P=pop.value), pop)
        make = stmts[made[tape]]
        tape_of_numbers = _located(ast.Assign(
            [ast.Name(numbers, ast.Store())],
            specialiser.parsed("runtime.number_tape()")), make)
        if alone:
            stmts[made[tape]] = tape_of_numbers
            continue
        tape_of_numbers.freed = True  # (shown after the tape: see `_shown`)
        stmts.insert(made[tape] + 1, tape_of_numbers)
        made = {name: i + (i > made[tape]) for name, i in made.items()}
        for deletion in deletions[tape]:
            deletion.targets.append(ast.Name(numbers, ast.Del()))


def _uses(loads, parents, names_loaded, stores, specialiser):
    """The operands of arithmetic that the reads `loads` of a name reach
    through its negation (`-t`), its product with a number or quotient by
    one (`t / TEMP`: a number times a number is one, an array's spread
    is the product's) and copies (`b = t`, `b = -t`, b bound once), which
    read it as it is: those a value spread lazily must suit. (Those of
    another kind are returned as they are: they do not suit.)"""
    def scaled(use):
        parent = parents.get(use)
        if not isinstance(parent, ast.BinOp) or not (
                isinstance(parent.op, ast.Mult) or isinstance(
                    parent.op, ast.Div) and parent.left is use) or \
                parent.left is parent.right:
            return False
        other = specialiser.fact(
            parent.right if parent.left is use else parent.left)
        return other is not None and other.shape == () and \
            other.kind in ("float", "float64", "number", "int")

    found = []
    for use in loads:
        while isinstance(parents.get(use), ast.UnaryOp) and isinstance(
                parents[use].op, ast.USub) or scaled(use):
            use = parents[use]  # (-t, t / c: of the same kind)
        parent = parents.get(use)
        if isinstance(parent, ast.Assign) and parent.value is use and len(
                parent.targets) == 1 and isinstance(
                    parent.targets[0], ast.Name) and \
                stores[parent.targets[0].id] == 1 and \
                parent.targets[0].id not in specialiser.parameters:
            found += _uses(names_loaded[parent.targets[0].id], parents,
                           names_loaded, stores, specialiser)
        else:
            found.append(use)
    return found


def _broadcast_alike(binop, operand, fact, specialiser):
    """Does `binop` (an arithmetic operation `operand` is a side of) give
    the value of the same kind when that side is of `fact`?"""
    if not isinstance(binop, ast.BinOp) or not isinstance(
            binop.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)) or \
            binop.left is binop.right:
        return False
    other = binop.right if binop.left is operand else binop.left
    facts = (fact, specialiser.fact(other)) if binop.left is operand else \
        (specialiser.fact(other), fact)
    made = specialiser.fact(binop)
    return made is not None and _result(
        _BINARY[type(binop.op)], facts) == made


def _shown(text, definition, start):
    """The specialised code as `.specialised_source` shows it: the general
    code's text (`text`), its comments kept, each statement the
    specialisation changed (printed otherwise than the general code's
    statement of its line) printed anew, and the guard after the
    docstring."""
    old = {stmt.lineno: ast.unparse(stmt) for stmt in ast.walk(
        ast.parse(text).body[0]) if isinstance(stmt, ast.stmt)}
    lines = text.splitlines()
    guard, body = definition.body[start], definition.body[start + 1:]
    # (the guard follows the docstring, or the line of `def`; the comments
    # before the first statement follow the guard)
    head = definition.body[0].end_lineno if start else guard.lineno - 1
    while head > 0 and lines[head - 1].strip().startswith("#"):
        head -= 1
    shown = lines[:head] + _indented(guard.shown)
    shown += _shown_lines(lines, body, head + 1, len(lines), old, 1)
    return "\n".join(shown) + "\n"


def _shown_lines(lines, body, first, last, old, depth):
    """The lines `first` to `last` of the general code's text shown for
    the statements `body` made of those there (see `_shown`): of a loop
    or a branch whose own line is unchanged, that line, and its
    statements shown likewise."""
    stmts = collections.defaultdict(list)  # (several: see `written`)
    freed = collections.defaultdict(list)  # (see `_freed`)
    for stmt in body:
        (freed if getattr(stmt, "freed", False) else stmts)[
            stmt.lineno].append(stmt)
    shown = []
    line = first
    while line <= last:
        made = stmts.get(line)
        if made is None:
            if lines[line - 1].strip().startswith("#"):
                shown.append(lines[line - 1])
            line += 1
            continue
        printed = "\n".join(map(ast.unparse, made))
        end = max(stmt.end_lineno for stmt in made)
        if printed == old.get(line):  # (as written, at its depth now: a
            shift = 4 * depth - made[0].col_offset  # branch taken at once
            shown += [" " * shift + text if shift >= 0 else text[-shift:]
                      for text in lines[line - 1:end]]  # loses a level)
        elif len(made) == 1 and isinstance(made[0], (
                ast.For, ast.While, ast.If)) and not made[0].orelse and \
                printed.split("\n")[0] == old.get(line, "").split("\n")[0]:
            shown.append(lines[line - 1])  # (its line, as it was)
            shown += _shown_lines(lines, made[0].body, line + 1, end, old,
                                  depth + 1)
        else:
            shown += _indented(printed, depth)
        shown += _indented("\n".join(map(ast.unparse, freed[line])), depth)
        line = end + 1
    return shown


def _indented(text, depth=1):
    return ["    " * depth + line if line else line
            for line in text.splitlines()]


class _Names:
    """Fresh names for what the guard reads, and the cells holding them."""

    def __init__(self, taken):
        self.taken = set(taken)
        self.cells = {}

    def of(self, name, value):
        for known, cell in self.cells.items():
            if cell.cell_contents is value:
                return known
        while name in self.taken:
            name = "_" + name
        self.taken.add(name)
        self.cells[name] = types.CellType(value)
        return name


def _guard(definition, facts, numbers, names, reach, first, general):
    """`if not (x.__class__ is ndarray and x.dtype is float64 and x.shape
    == (3,) and ...): return general(x, ...)`, for the parameters' `facts`
    and the module-level `numbers` read."""
    tests = []
    for param, fact in list(facts.items()) + list(numbers.items()):
        cls = _CLASSES[fact.kind]
        test = f"{param}.__class__ is {reach(cls, cls.__name__)}"
        if fact.kind == "array":
            dtype = names.of(f"{fact.dtype.name}_dtype", fact.dtype)
            test += f" and {param}.dtype is {dtype} and " \
                f"{param}.shape == {fact.shape!r}"
        elif fact.kind == "many list":  # (of Python floats)
            test += f" and {reach(runtime, 'runtime')}.all_floats({param})"
        tests.append(test)
    general = names.of("general", general)
    params = ", ".join(a.arg for a in definition.args.args)
    text = "if not (" + " and\n        ".join(tests) + \
        f"):\n    return {general}({params})"
    guard = _located(ast.parse(text).body[0], first)
    guard.shown = text  # (as `_shown` prints it)
    return guard


def _compiled(function, tree, names):
    """The specialised function: compiled under the general code's file
    name, its statements keeping their lines (tracebacks and the line map
    read the general code, which they follow line for line), with the
    general code's cells and the guard's own."""
    code = function.__code__
    inner = codegen.closure_code(
        tree.body, code.co_name, list(code.co_freevars) + sorted(names.cells),
        code.co_filename)
    cells = dict(zip(code.co_freevars, function.__closure__ or ()))
    cells.update(names.cells)
    made = types.FunctionType(inner, function.__globals__, code.co_name,
                              function.__defaults__,
                              tuple(cells[n] for n in inner.co_freevars))
    made.__kwdefaults__ = function.__kwdefaults__
    made.__qualname__ = function.__qualname__
    made.__doc__ = function.__doc__
    made.__s2sad_general__ = function
    return made

"""Specialising a generated gradient to the kinds of arguments it is called
with: the last stage, after compilation, at a derivative's first call.

The generated code works for any inputs, and the runtime helpers it calls
find out at each call what they were given: `unbroadcast` compares shapes,
`matmul_adjoint_a` dispatches on ranks, `gradients` checks each gradient's
type, shape, dtype and memory. On a small array program those decisions
cost more than the arithmetic (a 10-32-1 network on one example: 3 of its
8 microseconds). A program called again and again with arrays of the same
shapes gets the same answers each time, so they are taken once here:

- the kinds of the arguments of the first call (float64 arrays of their
  shapes, Python floats, NumPy float64s) are facts;
- the facts of every value the function's top-level statements make follow
  NumPy's own rules: each operation the facts cover (arithmetic, ufuncs,
  `np.where`, products, reductions, constant slices, `.T`) is run once on
  stand-ins of those shapes and dtypes that hold no data;
- each helper call the facts decide is replaced by what the helper does
  for such values (the same NumPy operations, so the same results to the
  bit), and the gradients returned are left unchecked where each is a new
  array of its input's shape and dtype that shares memory with nothing
  else returned or given;
- a guard in front sends any call with arguments of other kinds to the
  general function.

A program for which nothing is decided keeps the general function.
"""

import ast
import builtins
import collections
import types
import warnings

import numpy as np

from s2sad import errors, runtime

_NDARRAY = np.ndarray

# for tests: specialise at the first call rather than the second; and a
# function `CHECKED(specialised, general, *args, **kwargs)` to call instead
# of the specialised code (one that compares the two)
AT_ONCE = False
CHECKED = None

# a value's kind: "array" (a NumPy array, of `shape` and `dtype`), "float"
# (a Python float), "float64" (a NumPy float64), "int" (a Python int)
# (and "shape", an array's shape); `value`: an int's, where the guard fixes
# it (a length)
Fact = collections.namedtuple("Fact", "kind shape dtype value",
                              defaults=(None,))
_FLOAT = Fact("float", (), np.dtype(float))
_FLOAT64 = Fact("float64", (), np.dtype(float))
_INT = Fact("int", (), None)
_F8 = np.dtype(np.float64)

# the ways of `matmul_adjoint_a` and `matmul_adjoint_b` (see runtime) for
# float64 operands of these ranks, as (rank of a, rank of b) -> expression
_MATMUL_A = {(2, 2): "g @ b.T", (1, 2): "b @ g", (1, 1): "g * b",
             (2, 1): "g[..., None] * b"}
_MATMUL_B = {(2, 2): "a.T @ g", (2, 1): "g @ a", (1, 1): "g * a",
             (1, 2): "a[..., None] * g"}

_REDUCTIONS = {"sum", "mean", "max", "min", "prod"}

# helpers that compute from their arguments alone and make new values (or
# give one of them back), whose results' kinds are found by running them on
# stand-ins
_PURE = {"unreduce", "expand_reduced", "unbroadcast_to", "logistic",
         "attribute_cotangent", "power", "divide"}
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
    return None


def _stand_in(fact):
    """A value of the fact's kind holding no data of its own."""
    if fact.value is not None:
        return fact.value
    if fact.kind == "array":
        return np.broadcast_to(np.ones((), fact.dtype), fact.shape)
    return {"float": 1.0, "float64": np.float64(1.0), "int": 1}[fact.kind]


def _result(compute, facts):
    """The fact of what `compute` makes of values of `facts`, found by
    running it on stand-ins (None where it fails or makes another kind)."""
    if any(f is None or f.kind == "shape" for f in facts):
        return None
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = compute(*[_stand_in(f) for f in facts])
    except Exception:  # (the program raises there: the helper decides)
        return None
    found = fact_of(value)
    if found is None and value.__class__ is int:
        found = _INT
    if found is not None and found.kind != "array" and all(
            f.value is not None for f in facts):
        return found._replace(value=value)  # (known: of lengths, constants)
    return found


class _Specialiser:
    def __init__(self, function, arguments):
        self.function = function
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
            if node.id in self.facts:
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

    # -- expressions ------------------------------------------------------

    def expr(self, node):
        """(node rewritten, its fact, its origins)."""
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            return self.generic(node), None, None
        done = method(node)
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

    def expr_Name(self, node):
        if node.id in self.facts or node.id in self.local:
            return node, self.facts.get(node.id), self.origins.get(node.id)
        value = self.resolve(node)
        if value.__class__ in (float, np.float64, int) and \
                node.id not in self.cells:
            # a module-level number (a model's constant): the guard checks
            # its kind, as it may be bound to another one
            fact = fact_of(value) or _INT
            self.globals_read[node.id] = fact
            return node, fact, set()
        return node, None, None

    def expr_Constant(self, node):
        cls = node.value.__class__
        fact = _FLOAT if cls is float else _INT if cls is int else None
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
        node.value, fact, origin = self.expr(node.value)
        if fact is None or fact.kind != "array":
            return node, None, None
        if node.attr == "T":
            return node, _result(lambda a: a.T, (fact,)), origin  # (a view)
        if node.attr == "shape":
            return node, Fact("shape", fact.shape, None), set()
        return node, None, None

    def expr_IfExp(self, node):
        """`a / n if n else np.divide(a, n)` of a length n the guard fixes:
        the branch taken."""
        node.test, test, _ = self.expr(node.test)
        if test is not None and test.kind in ("int", "float") and \
                test.value is not None:
            self.decided += 1
            return self.expr(node.body if test.value else node.orelse)
        return self.generic(node), None, None

    def expr_Subscript(self, node):
        node.value, fact, origin = self.expr(node.value)
        index = _constant_index(node.slice)
        node.slice = self.expr(node.slice)[0] if index is None else node.slice
        if fact is not None and fact.kind == "shape" and \
                index.__class__ is int and -len(fact.shape) <= index < len(
                    fact.shape):
            return node, Fact("int", (), None, fact.shape[index]), set()
        if index is None or fact is None or fact.kind != "array":
            return node, None, None
        found = _result(lambda a: a[index], (fact,))
        if found is not None and found.kind != "array":
            return node, found, set()  # (an item: a number of its own)
        return node, found, origin  # (a view)

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
            if done is not None:
                self.decided += 1
                return done
            if name not in _PURE:
                return node, None, None
        elif name in _PURE_RULES and getattr(
                callee, "__module__", "").startswith("s2sad.rules"):
            pass
        else:
            fact = self.numpy_call(node, callee)
            return node, fact, self.made(node, fact)
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
        node.elts = [self.expr(e)[0] for e in node.elts]
        return node, None, None

    def numpy_call(self, node, callee):
        """The fact of a NumPy call the facts cover: a ufunc, np.where, a
        reduction (a function or a method, with a constant axis)."""
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords):
            return None
        facts = [self.fact(a) for a in node.args]
        if isinstance(callee, np.ufunc) and not node.keywords and \
                callee.nout == 1 and len(facts) == callee.nin:
            return _result(callee, facts)
        if callee is np.where and len(facts) == 3 and not node.keywords:
            return _result(np.where, facts)
        keywords = {k.arg: k.value for k in node.keywords}
        if not all(isinstance(v, ast.Constant) for v in keywords.values()):
            return None
        options = {k: v.value for k, v in keywords.items()}
        if set(options) - {"axis", "keepdims"}:
            return None
        name = getattr(callee, "__name__", None)
        if callee is len and len(facts) == 1 and not options and \
                facts[0] is not None and facts[0].kind == "array" and \
                facts[0].shape:
            return Fact("int", (), None, facts[0].shape[0])
        if isinstance(callee, types.BuiltinFunctionType) and getattr(
                callee, "__module__", None) == "math" and not options:
            return _result(callee, facts)
        if name in _REDUCTIONS and callee is getattr(np, name, None) and \
                len(facts) == 1:
            return _result(lambda a: callee(a, **options), facts)
        if isinstance(node.func, ast.Attribute) and node.func.attr in \
                _REDUCTIONS and not node.args and callee is None:
            owner = self.fact(node.func.value)
            if owner is not None and owner.kind == "array":
                method = node.func.attr
                return _result(lambda a: getattr(a, method)(**options),
                               [owner])
        return None

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
            return node, xf, {id(node)}  # (summed: a new array)
        if gf.kind == "float" or gf.kind == "float64" and xf.kind in (
                "float", "float64"):
            return g, gf, set()  # (a number, given back)
        return None

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
        names = dict(zip("gab", node.args))
        expression = _substitute(ast.parse(way, mode="eval").body, names)
        scope = {"g": None, "a": None, "b": None}
        fact = _result(lambda *v: eval(way, {}, dict(zip(scope, v))), facts)
        if fact is None or fact.shape != facts[which].shape:
            return None
        return _located(expression, node), fact, {id(node)}

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
        return _located(ast.Constant(int(np.prod(
            xf.shape, dtype=np.int64))), node), _INT, set()

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
        return node, None, None

    # -- statements -------------------------------------------------------

    def statements(self, body):
        for stmt in body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                    isinstance(stmt.targets[0], ast.Name):
                decided = self.decided
                stmt.value, fact, origin = self.expr(stmt.value)
                name = stmt.targets[0].id
                self.facts[name], self.origins[name] = fact, origin
                if self.decided > decided and _is_call_of(
                        stmt.value, "float64_seed"):
                    self.seeds.add(name)
            elif isinstance(stmt, (ast.Return, ast.Expr)) and \
                    stmt.value is not None:
                stmt.value = self.expr(stmt.value)[0]
            elif isinstance(stmt, ast.Delete):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        self.forget(target.id)
            elif isinstance(stmt, ast.Assign) and all(
                    isinstance(t, ast.Subscript) and
                    isinstance(t.value, ast.Name) for t in stmt.targets):
                # an element or slice written: the array keeps its kind
                stmt.value = self.expr(stmt.value)[0]
            else:  # (what a compound statement or another one binds)
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Name) and \
                            isinstance(node.ctx, (ast.Store, ast.Del)):
                        self.forget(node.id)
                seed = _seed_computed(stmt)
                if seed in self.seeds:
                    # `if seed is None: ...; seed = runtime.seed(value)`,
                    # of a value float64_seed found is a float64: 1.0 as
                    # a NumPy float64 either way
                    self.facts[seed], self.origins[seed] = _FLOAT64, set()

    def forget(self, name):
        self.facts.pop(name, None)
        self.origins[name] = None


def _is_call_of(node, helper):
    return isinstance(node, ast.Call) and isinstance(
        node.func, ast.Attribute) and node.func.attr == helper


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
            return ast.copy_location(
                _copy(names[node.id]), node) if node.id in names else node
    return Put().visit(tree)


def _copy(node):
    return ast.parse(ast.unparse(node), mode="eval").body


def _constant_index(node):
    """The value of an index made of constants (ints, slices of ints or
    None, `None`, `...`), or None."""
    parts = node.elts if isinstance(node, ast.Tuple) else [node]
    out = []
    for part in parts:
        if isinstance(part, ast.Slice):
            bounds = [getattr(part, b) for b in ("lower", "upper", "step")]
            if not all(b is None or isinstance(b, ast.Constant) and
                       b.value.__class__ is int or
                       isinstance(b, ast.UnaryOp) and
                       isinstance(b.op, ast.USub) and
                       isinstance(b.operand, ast.Constant) and
                       b.operand.value.__class__ is int for b in bounds):
                return None
            out.append(slice(*[None if b is None else ast.literal_eval(b)
                               for b in bounds]))
        elif isinstance(part, ast.Constant) and (
                part.value is None or part.value is Ellipsis or
                part.value.__class__ is int):
            out.append(part.value)
        elif isinstance(part, ast.UnaryOp) and isinstance(
                part.op, ast.USub) and isinstance(part.operand, ast.Constant) \
                and part.operand.value.__class__ is int:
            out.append(-part.operand.value)
        else:
            return None
    return tuple(out) if isinstance(node, ast.Tuple) else out[0]


_BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Pow: lambda a, b: a ** b, ast.MatMult: lambda a, b: a @ b}
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: +a}


def is_plain_input(value):
    """Is `value` an input a derivative's quick path takes unchecked: a
    float, a NumPy float64, a float array?"""
    cls = value.__class__
    return cls is float or cls is np.float64 or \
        cls is _NDARRAY and value.dtype.kind == "f"


def specialised(function, args, kwargs, general, required=()):
    """`function` (generated code) specialised to the kinds of `args` and
    `kwargs`, a call's arguments, behind a guard that calls `general`
    (`function`, or what calls it) for any others; or None where nothing
    would be decided. The guard checks the parameters at the positions
    `required` (the differentiated ones), or nothing is made."""
    code = function.__code__
    if code.co_flags & (0x04 | 0x08) or code.co_kwonlyargcount or \
            code.co_posonlyargcount:
        return None  # (*args, **kwargs, keyword-only parameters)
    params = code.co_varnames[:code.co_argcount]
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
    text = errors.generated_text(code.co_filename)
    if not facts or text is None:
        return None
    tree = ast.parse(text)
    definition = tree.body[0]
    if not isinstance(definition, ast.FunctionDef) or \
            definition.name != code.co_name or any(
                isinstance(n, ast.Name) and n.id == code.co_name
                for n in ast.walk(definition)):
        return None
    specialiser = _Specialiser(function, facts)
    specialiser.parameters = set(facts)
    specialiser.local = {n.id for n in ast.walk(definition) if isinstance(
        n, ast.Name) and not isinstance(n.ctx, ast.Load)} | set(params)
    body = definition.body
    start = 1 if ast.get_docstring(definition) else 0
    specialiser.statements(body[start:])
    if not specialiser.decided:
        return None
    taken = {n.id for n in ast.walk(definition) if isinstance(n, ast.Name)}
    names = _Names(taken | set(code.co_freevars) | set(params))
    body.insert(start, _guard(definition, facts, specialiser.globals_read,
                              names, body[start], general))
    made = _compiled(function, tree, names)
    made.__s2sad_specialised__ = _shown(text, definition, start)
    return made


def _shown(text, definition, start):
    """The specialised code as `.specialised_source` shows it: the general
    code's text, its comments kept, each statement the specialisation
    changed printed anew, and the guard after the docstring."""
    lines = text.splitlines()
    general = ast.parse(text).body[0].body
    old = {stmt.lineno: ast.unparse(stmt) for stmt in general}
    guard, body = definition.body[start], definition.body[start + 1:]
    head = body[0].lineno - 1 if body else len(lines)
    while head > 0 and lines[head - 1].strip().startswith("#"):
        head -= 1  # (comments before the first statement follow the guard)
    shown = lines[:head] + _indented(guard.shown)
    stmts = {stmt.lineno: stmt for stmt in body}
    line = head + 1
    while line <= len(lines):
        stmt = stmts.get(line)
        if stmt is None:
            if lines[line - 1].strip().startswith("#"):
                shown.append(lines[line - 1])
            line += 1
            continue
        printed = ast.unparse(stmt)
        shown += lines[line - 1:stmt.end_lineno] if printed == old.get(
            line) else _indented(printed)
        line = stmt.end_lineno + 1
    return "\n".join(shown) + "\n"


def _indented(text):
    return ["    " + line if line else line for line in text.splitlines()]


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


def _guard(definition, facts, numbers, names, first, general):
    """`if not (x.__class__ is ndarray and x.dtype is float64 and x.shape
    == (3,) and ...): return general(x, ...)`, for the parameters' `facts`
    and the module-level `numbers` read."""
    tests = []
    for param, fact in list(facts.items()) + list(numbers.items()):
        cls = {"array": _NDARRAY, "float": float, "float64": np.float64,
               "int": int}[fact.kind]
        test = f"{param}.__class__ is {names.of(cls.__name__, cls)}"
        if fact.kind == "array":
            dtype = names.of(f"{fact.dtype.name}_dtype", fact.dtype)
            test += f" and {param}.dtype is {dtype} and " \
                f"{param}.shape == {fact.shape!r}"
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
    free = list(code.co_freevars) + sorted(names.cells)
    definition = tree.body[0]
    outer = ast.parse("def _s2sad_outer():\n" + "".join(
        f"    {n} = None\n" for n in free) + f"    return {code.co_name}"
    ).body[0]
    outer.body[len(free):len(free)] = [definition]
    module = ast.Module(body=[outer], type_ignores=[])
    ast.fix_missing_locations(module)
    compiled = compile(module, code.co_filename, "exec")
    outer_code = next(c for c in compiled.co_consts
                      if isinstance(c, types.CodeType))
    inner = next(c for c in outer_code.co_consts
                 if isinstance(c, types.CodeType) and
                 c.co_name == code.co_name)
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

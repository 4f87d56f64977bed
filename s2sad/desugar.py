"""Desugar: rewrite the fenced tree into the canonical forms `ssa` lowers.

After this pass:
- `assert`, `raise`, `with`, `try`, `del` and `global` are gone (see
  `_Statements`): `raise E` is the effect `runtime.raised(E)`, which `ssa`
  takes for an exit; `assert t, m` is `if not t: raise AssertionError(m)`;
  a `with` block calls `__enter__` and `__exit__` around its body; a `try`
  is its body, `else` and `finally` (derivative code runs the path that
  raised nothing); `del xs[i]` is `xs.pop(i)`;
- generator expressions are list comprehensions, and comprehensions (list
  and dict), f-strings and the container built-ins (`dict`, `sorted`,
  `map`, `filter`, `reversed`, `max`/`min` of an iterable, `pow`, `divmod`,
  `.get`, `.items()`, `.values()`, `.keys()`) are spelled with loops,
  indexing and `runtime` helpers, computed before their statement;
- there is no augmented assignment (`x += y` is `x = x + y`);
- there is no docstring or other constant expression statement;
- every `for` loops over `range(...)`: `for x in X` is
  `for _k in range(len(X)): x = X[_k]`, and `enumerate`, `zip` and unpacking
  targets become index reads the same way, so a row's adjoint lands in X;
- no loop has `break`, `continue` or `return`: `continue` is lifted like an
  early return (what follows moves into the branches that go on); `break`
  sets a flag the loop test reads (a `for` that breaks becomes a `while`
  over its range); `return v` in a loop is `flag = True; value = v; break`
  with `if flag: return value` after the loop;
- every `return` is the last statement of its block, and every path through
  the function ends in one (`return None` is added where control falls off
  the end). Statements after an `if` that returns on some paths are moved
  into the branches that do not return, so the function has structured
  exits that `ssa` joins with a phi.
"""

import builtins
import collections
import copy

import gast

from s2sad import errors, fence, frontend, runtime, trees
from s2sad.naming import Namer, names_in


def desugar(source):
    """Rewrite `source.tree` in place into canonical form; return it."""
    func = source.tree
    _check_lazy(source)
    namer = Namer(names_in(func))
    loops = _Loops(source, namer)
    comprehensions = _Comprehensions(source, namer)
    body = []
    statements = _Statements(source, namer).block(func.body)
    for stmt in comprehensions.block(statements):
        new = loops.visit(_Shorthands().visit(stmt))
        body += new if isinstance(new, list) else [new]
    body = [s for s in body if not _is_constant_expr(s)]
    if not body or not _always_returns(body):
        body.append(gast.Return(value=gast.Constant(value=None, kind=None)))
    func.body = _lift(body, gast.Return)
    return func


# iterators Python computes as they are read, which s2sad computes as lists
# where they are made; and what reads one as a whole where it is made
_LAZY = {"map", "filter", "zip", "enumerate", "reversed", "iter"}
_CONSUMERS = {"sum", "list", "tuple", "set", "frozenset", "sorted", "min",
              "max", "any", "all", "dict", "len", "array", "asarray",
              "fromiter", "stack", "hstack", "vstack", "concatenate", "prod",
              "fsum", "join", "mean", "product"} | _LAZY


def _check_lazy(source):
    """Refuse a lazy iterator (a generator expression, `map`, `filter`,
    `zip`, `enumerate`) that is kept (assigned, stored, returned) and reads
    a name that could change before it is read: s2sad computes its items
    where it is made, Python as they are read. One read where it is made
    (`sum(w * t for t in ts)`, `for i, v in enumerate(xs)`) is the same."""
    tree = source.tree
    lazy = [node for node in gast.walk(tree)
            if isinstance(node, gast.GeneratorExp) or isinstance(
                node, gast.Call) and isinstance(node.func, gast.Name)
            and node.func.id in _LAZY - {"reversed"}]
    if not lazy:
        return  # (the walks below cost as much as the rest of desugaring)
    parents = {id(c): n for n in gast.walk(tree)
               for c in gast.iter_child_nodes(n)}
    stores = assignments(tree)
    changed = {name for name, _ in changes(tree)}
    for node in lazy:
        place, above = node, parents.get(id(node))
        while isinstance(above, gast.Call) and _called_name(above) in _LAZY:
            place, above = above, parents.get(id(above))
        if isinstance(above, gast.Call) and place in above.args and \
                _called_name(above) in _CONSUMERS or isinstance(
                    above, (gast.For, gast.comprehension)) and \
                place is above.iter or isinstance(above, gast.Assign) and \
                above.value is place and all(
                    isinstance(t, (gast.Tuple, gast.List))
                    for t in above.targets):
            continue  # read as a whole where it is made (or unpacked)
        own = {n.id for g in getattr(node, "generators", ())
               for n in gast.walk(g.target) if isinstance(n, gast.Name)}
        # (what `zip(*rows)` spreads is read where it is called)
        own |= {n.id for a in getattr(node, "args", ())
                if isinstance(a, gast.Starred) and isinstance(a.value,
                                                              gast.Name)
                for n in [a.value]}
        reads = sorted({n.id for n in gast.walk(node)
                        if isinstance(n, gast.Name)
                        and isinstance(n.ctx, gast.Load)} - own)
        loops = []
        while above is not None:
            if isinstance(above, (gast.For, gast.While)):
                loops.append(above)
            above = parents.get(id(above))
        in_loop = {n.id for loop in loops for n in gast.walk(loop)
                   if isinstance(n, gast.Name)
                   and isinstance(n.ctx, gast.Store)}
        for name in reads:
            if stores[name] > 1 or name in changed or name in in_loop:
                what = "generator expression" if isinstance(
                    node, gast.GeneratorExp) else f"`{node.func.id}(...)`"
                raise source.error(
                    errors.UnsupportedSyntaxError, node,
                    f"this {what} is kept, and reads `{name}`, which "
                    "this function changes: Python computes its items when "
                    "they are read, s2sad where it is made; make it a list "
                    "(`[...]`, `list(...)`) where it should be computed")


def assignments(tree):
    """How many times the function `tree` assigns each name: its targets
    (a parameter once, `def g` nested in it once each)."""
    counts = collections.Counter(
        n.id for n in trees.walk(tree)
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store))
    counts.update(n.name for n in trees.walk(tree.body)
                  if isinstance(n, gast.FunctionDef))
    args = tree.args
    counts.update(a.id for a in args.posonlyargs + args.args + [args.vararg]
                  + args.kwonlyargs + [args.kwarg] if a is not None)
    return counts


def _called_name(call):
    """The last name of what `call` calls: `sum`, `np.array` -> array."""
    func = call.func
    return func.attr if isinstance(func, gast.Attribute) else \
        getattr(func, "id", None)


class _Comprehensions:
    """Expressions computed by statements, before the statement that holds
    them: `[elt for t in xs if c]` -> `_t1 = []; for t_1 in xs: if c:
    _t1.append(elt)`, the comprehension's own variables renamed (they do not
    leak, as in Python 3); a generator expression is a list comprehension;
    `{k: v for ...}` fills a dict the same way; the container built-ins
    (`sorted`, `map`, `filter`, `dict`, `max` of an iterable, `d.items()`,
    ...) are written with comprehensions, indexing and `runtime` helpers
    (see `call`)."""

    def __init__(self, source, namer):
        self.source, self.namer = source, namer
        self.local = {n.id for n in trees.walk(source.tree)
                      if isinstance(n, gast.Name)
                      and isinstance(n.ctx, (gast.Store, gast.Param))}
        self.lists = set()  # the temporaries holding comprehensions' lists

    def block(self, stmts):
        out = []
        for stmt in stmts:
            for field in ("body", "orelse"):
                if isinstance(getattr(stmt, field, None), list):
                    setattr(stmt, field, self.block(getattr(stmt, field)))
            before = []
            if isinstance(stmt, gast.For):  # (see `builtin_reversed`)
                for iterated in self.read_in_step(stmt.iter):
                    iterated.s2sad_iterated_by = stmt
            # (a `for` reads `zip(...)` or `enumerate(...)` item by item
            # into the names it unpacks to, but into a starred target, `for
            # p, *q in zip(...)`, or one name, `for pair in zip(...)`: their
            # list)
            looped = isinstance(stmt, gast.For) and not any(
                isinstance(n, gast.Starred) for n in gast.walk(stmt.target)
            ) and ("unpacked" if isinstance(stmt.target, gast.Tuple) else
                   "named")
            for field in ("value", "test", "iter", "targets", "target"):
                if hasattr(stmt, field) and not isinstance(stmt, gast.While):
                    setattr(stmt, field, self.hoist(
                        getattr(stmt, field), before,
                        loop_iter=looped if field == "iter" else False))
            if isinstance(stmt, gast.While) and self.hoists(stmt.test):
                raise self.error(stmt.test, "in a `while` test")
            out += before + [stmt]
        return out

    def error(self, node, where):
        kinds = {gast.ListComp: "a list comprehension",
                 gast.GeneratorExp: "a generator expression",
                 gast.DictComp: "a dict comprehension"}
        what = next((kinds[type(n)] for n in gast.walk(node)
                     if type(n) in kinds), "a call of `sorted`, `map`, "
                    "`filter`, `dict`, `max`/`min` of an iterable or `.get`, "
                    "`.items()` or `.values()`")
        return self.source.error(
            errors.UnsupportedSyntaxError, node,
            f"{what} {where} is not supported; assign it to a variable on a "
            "line of its own first")

    def hoists(self, node):
        """Would `node` need statements before its own?"""
        scratch = []
        node = copy.deepcopy(node)
        for part in [getattr(node, f) for f in node._fields] if isinstance(
                node, (gast.IfExp, gast.BoolOp)) else [node]:
            self.hoist(part, scratch)
        return bool(scratch)

    def read_in_step(self, iterable):
        """The iterables a `for` loop over `iterable` reads item by item as
        it goes: itself, and the arguments of `enumerate` and `zip` it is
        (at any depth)."""
        found = [iterable]
        if isinstance(iterable, gast.Call) and self.resolve(
                iterable.func) in (enumerate, zip) and not iterable.keywords:
            for arg in iterable.args[:1] if self.resolve(
                    iterable.func) is enumerate else iterable.args:
                found += self.read_in_step(arg)
        return found

    def hoist(self, node, before, loop_iter=False):
        if isinstance(node, list):
            return [self.hoist(n, before) for n in node]
        if not isinstance(node, gast.AST) or isinstance(node, gast.Lambda):
            return node
        if isinstance(node, (gast.IfExp, gast.BoolOp)):
            # what runs first always runs: it may be computed before
            first = "test" if isinstance(node, gast.IfExp) else "values"
            if first == "values":
                node.values[0] = self.hoist(node.values[0], before)
            else:
                node.test = self.hoist(node.test, before)
            rest = gast.Tuple(node.values[1:] if first == "values" else
                              [node.body, node.orelse], gast.Load())
            if self.hoists(rest):
                raise self.error(node, "in a part of `... if ... else ...`, "
                                 "`and` or `or` that may not run")
            return node
        if isinstance(node, gast.GeneratorExp):
            node = gast.copy_location(gast.ListComp(node.elt, node.generators),
                                      node)
        if isinstance(node, (gast.ListComp, gast.DictComp)):
            return self.lower(node, before)
        looped = loop_iter and isinstance(node, gast.Call) and (
            isinstance(node.func, gast.Attribute) and node.func.attr in (
                "items", "values", "keys")
            or self.resolve(node.func) in (enumerate, zip) and
            loop_iter == "unpacked") and not (
                any(isinstance(a, gast.Starred) for a in node.args))
        for field in node._fields:
            value = getattr(node, field)
            if looped and field == "args" and value and \
                    self.resolve(node.func) is enumerate:
                # `for i, (a, b) in enumerate(zip(...))`: one loop
                value = [self.hoist(value[0], before,
                                    loop_iter="unpacked")] + \
                    self.hoist(value[1:], before)
            else:
                value = self.hoist(value, before)
            setattr(node, field, value)
        if isinstance(node, gast.JoinedStr):
            return _formatted(node)
        if isinstance(node, gast.Call) and not looped:
            return self.call(node, before)
        return node

    def lower(self, comp, before):
        renames = {}
        for generator in comp.generators:
            for name in gast.walk(generator.target):
                if isinstance(name, gast.Name):
                    renames[name.id] = self.namer.fresh(name.id)
        outer = comp.generators[0].iter  # evaluated outside the comprehension
        comp.generators[0].iter = gast.Constant(None, None)
        comp = _Rename(renames).visit(comp)
        comp.generators[0].iter = outer
        result = self.namer.temp()
        if isinstance(comp, gast.DictComp):
            inner = _assign(gast.Subscript(_load(result), comp.key,
                                           gast.Store()), comp.value, comp)
            empty = gast.Dict([], [])
        else:
            inner = gast.Expr(gast.Call(gast.Attribute(
                _load(result), "append", gast.Load()), [comp.elt], []))
            empty = gast.List([], gast.Load())
        body = [inner]
        for generator in reversed(comp.generators):
            for test in reversed(generator.ifs):
                body = [gast.If(test, body, [])]
            body = [gast.For(_store(generator.target), generator.iter, body,
                             [], None)]
        for node in gast.walk(body[0]):
            if isinstance(node, gast.stmt):
                gast.copy_location(node, comp)
        before.append(_set(result, empty, comp))
        before += self.block(body)
        self.lists.add(result)
        return _load(result)

    # -- built-ins --

    def resolve(self, func):
        """The object a callee names, when it is not the function's own."""
        root = func
        while isinstance(root, gast.Attribute):
            root = root.value
        if isinstance(root, gast.Name) and root.id in self.local:
            return None
        if hasattr(func, "s2sad_builtin"):
            return None  # s2sad's own call
        value = self.source.resolve(func)
        return None if frontend.is_missing(value) else value

    def is_local(self, node):
        """Is `node` a value of the function's (not a module-level name)?"""
        while isinstance(node, (gast.Attribute, gast.Subscript)):
            node = node.value
        return not isinstance(node, gast.Name) or node.id in self.local or \
            frontend.is_missing(self.source.resolve(node))

    def named(self, node, before, where):
        """`node` if a name or constant, else a temporary assigned it."""
        if isinstance(node, (gast.Name, gast.Constant)):
            return node
        name = self.namer.temp()
        before.append(_set(name, node, where))
        return _load(name)

    def listed(self, node, before, where):
        """A name holding `node` as a list, tuple or array (a dict: its
        keys; any other iterable: what iterating it gives)."""
        if isinstance(node, gast.Name) and node.id in self.lists:
            return node
        return self.named(_helper("iterable", [node]), before, where)

    def call(self, node, before):
        fn = self.resolve(node.func)
        method = node.func.attr if isinstance(node.func, gast.Attribute) \
            and fn is None and self.is_local(node.func.value) else None
        if fn is zip and len(node.args) == 1 and not node.keywords and \
                isinstance(node.args[0], gast.Starred):
            return self.transposed(node, before)
        if any(isinstance(a, gast.Starred) for a in node.args) or (
                fn is None and method is None):
            return node
        try:
            builtin = next((name for name in _REWRITTEN
                            if fn is getattr(builtins, name)), None)
        except TypeError:  # (an object that refuses `is`? never; safe)
            builtin = None
        if builtin is not None:
            return getattr(self, "builtin_" + builtin)(node, before)
        if method in ("get", "items", "values", "keys") and \
                not node.keywords and not self.source.own_method(node.func):
            return self.dict_method(node, method, before)
        return node

    def builtin_dict(self, node, before):
        if len(node.args) > 1:
            return node
        if not node.args and all(k.arg for k in node.keywords):
            return gast.copy_location(gast.Dict(
                [_const(k.arg) for k in node.keywords],
                [k.value for k in node.keywords]), node)
        result = self.namer.temp()
        before.append(_set(result, gast.Dict([], []), node))
        sources = node.args + [k.value for k in node.keywords if not k.arg]
        for source in sources:
            before += self.block(_fill(result, source, self.namer, node))
        for keyword in node.keywords:
            if keyword.arg:
                before.append(_assign(gast.Subscript(
                    _load(result), _const(keyword.arg), gast.Store()),
                    keyword.value, node))
        return _load(result)

    def builtin_zip(self, node, before):
        """`zip(xs, ys)` kept in a variable: the list of its tuples."""
        if node.keywords or not node.args:
            return node
        names = [self.namer.fresh("_item") for _ in node.args]
        return self.lower(gast.copy_location(gast.ListComp(
            gast.Tuple([_load(n) for n in names], gast.Load()),
            [gast.comprehension(gast.Tuple([_store(_load(n)) for n in names],
                                           gast.Store()),
                                _call("zip", node.args), [], 0)]), node),
            before)

    def transposed(self, node, before):
        """`zip(*rows)`, kept or iterated: the list of the tuples of the
        rows' items at each place, as many as the shortest row has:
        `[tuple(row[j] for row in rows) for j in range(shortest)]`."""
        rows = self.listed(node.args[0].value, before, node)
        row, index = self.namer.fresh("_row"), self.namer.fresh("_j")
        column = _call("tuple", [gast.GeneratorExp(
            gast.Subscript(_load(row), _load(index), gast.Load()),
            [gast.comprehension(_store(_load(row)), copy.deepcopy(rows), [],
                                0)])])
        return self.lower(gast.copy_location(gast.ListComp(column, [
            gast.comprehension(_store(_load(index)), _call("range", [
                _helper("zip_length", [copy.deepcopy(rows)])]), [], 0)]),
            node), before)

    def builtin_enumerate(self, node, before):
        """`enumerate(xs)` kept in a variable: the list of its pairs."""
        names = [self.namer.fresh("_index"), self.namer.fresh("_item")]
        loop = _call("enumerate", node.args)
        loop.keywords = node.keywords
        return self.lower(gast.copy_location(gast.ListComp(
            gast.Tuple([_load(n) for n in names], gast.Load()),
            [gast.comprehension(gast.Tuple([_store(_load(n)) for n in names],
                                           gast.Store()), loop, [], 0)]),
            node), before)

    def builtin_sorted(self, node, before):
        options = {k.arg: k.value for k in node.keywords}
        if len(node.args) != 1 or not set(options) <= {"key", "reverse"}:
            return node
        items = self.listed(node.args[0], before, node)
        index = self.namer.fresh("_i")
        order = _helper("sort_order", [items])
        order.keywords = [gast.keyword(k, v) for k, v in options.items()]
        return self.lower(gast.copy_location(gast.ListComp(
            gast.Subscript(items, _load(index), gast.Load()),
            [gast.comprehension(_store(_load(index)), order, [], 0)]), node),
            before)

    def builtin_map(self, node, before):
        if len(node.args) < 2 or node.keywords:
            return node
        names = [self.namer.fresh("_item") for _ in node.args[1:]]
        target = _store(_load(names[0])) if len(names) == 1 else gast.Tuple(
            [_store(_load(n)) for n in names], gast.Store())
        iterable = node.args[1] if len(names) == 1 else _call(
            "zip", node.args[1:])
        elt = _applied(node.args[0], [_load(n) for n in names])
        return self.lower(gast.copy_location(gast.ListComp(elt, [
            gast.comprehension(target, iterable, [], 0)]), node), before)

    def builtin_filter(self, node, before):
        if len(node.args) != 2 or node.keywords:
            return node
        name = self.namer.fresh("_item")
        test = _load(name) if isinstance(node.args[0], gast.Constant) and \
            node.args[0].value is None else _applied(node.args[0],
                                                     [_load(name)])
        return self.lower(gast.copy_location(gast.ListComp(_load(name), [
            gast.comprehension(_store(_load(name)), node.args[1], [test],
                               0)]), node), before)

    def builtin_reversed(self, node, before):
        """reversed(xs) -> xs[::-1]: a copy of a list where Python's
        iterator reads the list as it goes, so refused where the function
        changes xs in place while it may (its changes would not be seen):
        anywhere, but for the iterable of a `for` loop that neither changes
        xs nor passes it to a call (`for v in reversed(xs)` after the loop
        that built xs)."""
        if len(node.args) != 1 or node.keywords:
            return node
        seq = node.args[0]
        loop = getattr(node, "s2sad_iterated_by", None)
        if isinstance(seq, gast.Name) and seq.id in {
                name for name, _ in changes(self.source.tree)} and (
                loop is None or _may_change(loop.body + loop.orelse,
                                            seq.id)):
            raise self.source.error(
                errors.UnsupportedSyntaxError, node,
                f"`reversed({seq.id})` of `{seq.id}`, which the function "
                f"changes in place: Python's iterator reads it as it goes, "
                f"and s2sad reads it where `reversed` is called; iterate "
                f"indices (`for i in range(len({seq.id}) - 1, -1, -1): v = "
                f"{seq.id}[i]`) or a copy (`reversed(list({seq.id}))`)")
        return gast.Subscript(seq, gast.Slice(None, None, _const(-1)),
                              gast.Load())

    def builtin_max(self, node, before, which="max"):
        options = {k.arg: k.value for k in node.keywords}
        if not set(options) <= {"key"} or not node.args:
            raise self.source.error(
                errors.UnsupportedSyntaxError, node,
                f"`{which}` with "
                f"{', '.join(f'`{k}=`' for k in options if k != 'key')} is "
                "not supported; test for an empty sequence first")
        if len(node.args) > 1 and not options:  # max(max(a, b), c)
            value = node.args[0]
            for arg in node.args[1:]:
                value = gast.copy_location(_call(which, [value, arg]), node)
            return value
        items = node.args[0] if len(node.args) == 1 else gast.List(
            node.args, gast.Load())
        items = self.listed(items, before, node)
        index = _helper(which + "_index", [items])
        index.keywords = [gast.keyword(k, v) for k, v in options.items()]
        return gast.copy_location(gast.Subscript(items, index, gast.Load()),
                                  node)

    def builtin_min(self, node, before):
        return self.builtin_max(node, before, "min")

    def builtin_pow(self, node, before):
        if len(node.args) != 2 or node.keywords:
            raise self.source.error(
                errors.UnsupportedSyntaxError, node,
                "`pow` with a modulus (or keywords) is not supported: modular "
                "powers of integers have no derivative; write `a ** b`, or "
                "`(a ** b) % m` outside the differentiated function")
        return gast.copy_location(gast.BinOp(node.args[0], gast.Pow(),
                                             node.args[1]), node)

    def builtin_divmod(self, node, before):
        if len(node.args) != 2 or node.keywords:
            return node
        a, b = [self.named(arg, before, node) for arg in node.args]
        return gast.copy_location(gast.Tuple([
            gast.BinOp(a, gast.FloorDiv(), b),
            gast.BinOp(copy.deepcopy(a), gast.Mod(), copy.deepcopy(b))],
            gast.Load()), node)

    def dict_method(self, node, method, before):
        if method == "get":
            if not 1 <= len(node.args) <= 2:
                return node
            mapping = self.named(node.func.value, before, node)
            key = self.named(node.args[0], before, node)
            default = node.args[1] if len(node.args) == 2 else _const(None)
            return gast.copy_location(gast.IfExp(
                gast.Compare(key, [gast.In()], [mapping]),
                gast.Subscript(copy.deepcopy(mapping), copy.deepcopy(key),
                               gast.Load()), default), node)
        if node.args:
            return node
        mapping = self.named(node.func.value, before, node)
        keys = _helper("keys", [mapping])
        if method == "keys":
            return keys
        name = self.namer.fresh("_key")
        value = gast.Subscript(copy.deepcopy(mapping), _load(name),
                               gast.Load())
        elt = value if method == "values" else gast.Tuple(
            [_load(name), value], gast.Load())
        return self.lower(gast.copy_location(gast.ListComp(elt, [
            gast.comprehension(_store(_load(name)), keys, [], 0)]), node),
            before)


# the built-ins `_Comprehensions` writes with comprehensions and indexing
_REWRITTEN = ("dict", "sorted", "map", "filter", "reversed", "max", "min",
              "pow", "divmod", "zip", "enumerate")


def _fill(result, source, namer, where):
    """Statements setting `result[k] = v` for each pair of `source`, a
    mapping or an iterable of pairs (when its kind shows only at run time,
    `runtime.is_mapping` picks)."""
    key, value = namer.fresh("_key"), namer.fresh("_value")

    def from_mapping(mapping):
        return [gast.For(_store(_load(key)), _helper("keys", [mapping]),
                         [_assign(gast.Subscript(
                             _load(result), _load(key), gast.Store()),
                             gast.Subscript(copy.deepcopy(mapping),
                                            _load(key), gast.Load()),
                             where)], [], None)]

    def from_pairs(pairs):
        return [gast.For(gast.Tuple([_store(_load(key)), _store(_load(value))],
                                    gast.Store()), pairs,
                         [_assign(gast.Subscript(_load(result), _load(key),
                                                 gast.Store()),
                                  _load(value), where)], [], None)]
    if isinstance(source, gast.Dict) and None not in source.keys:
        stmts = [_assign(gast.Subscript(_load(result), k, gast.Store()), v,
                         where) for k, v in zip(source.keys, source.values)]
    elif isinstance(source, gast.DictComp):
        name = namer.temp()
        stmts = [_set(name, source, where)] + from_mapping(_load(name))
    elif isinstance(source, (gast.List, gast.Tuple)) or (
            isinstance(source, gast.Call)
            and isinstance(source.func, gast.Name)
            and source.func.id == "zip"):
        stmts = from_pairs(source)
    else:
        name = namer.temp()
        stmts = [_set(name, source, where), gast.If(
            _helper("is_mapping", [_load(name)]), from_mapping(_load(name)),
            from_pairs(_load(name)))]
    for stmt in stmts:
        for node in gast.walk(stmt):
            if isinstance(node, gast.stmt):
                gast.copy_location(node, where)
    return stmts


def _applied(func, args):
    """`func(*args)`; a lambda's body with its parameters replaced."""
    if isinstance(func, gast.Lambda) and len(func.args.args) == len(args) \
            and not (func.args.vararg or func.args.kwonlyargs
                     or func.args.kwarg or func.args.posonlyargs
                     or func.args.defaults):
        renames = {p.id: a.id for p, a in zip(func.args.args, args)}
        return _Rename(renames).visit(copy.deepcopy(func.body))
    return gast.Call(func, args, [])


def _formatted(node):
    """An f-string as `'...' + format(value, spec) + ...` (not
    differentiated: `format` gives a string)."""
    parts = []
    for value in node.values:
        if isinstance(value, gast.FormattedValue):
            inner = value.value
            conversion = {115: "str", 114: "repr", 97: "ascii"}.get(
                value.conversion)
            if conversion:
                inner = _call(conversion, [inner])
            spec = value.format_spec or _const("")  # (written already)
            if isinstance(spec, gast.JoinedStr):
                spec = _formatted(spec)
            parts.append(_call("format", [inner, spec]))
        else:
            parts.append(value)
    parts = [p for p in parts
             if not (isinstance(p, gast.Constant) and p.value == "")]
    result = parts[0] if parts else _const("")
    for part in parts[1:]:
        result = gast.BinOp(result, gast.Add(), part)
    return gast.copy_location(result, node)


class _Statements:
    """Statements that compute nothing differentiated, in the forms `ssa`
    lowers (see the module docstring); nested functions are left as they
    are (they are read again when they are differentiated)."""

    def __init__(self, source, namer):
        self.source, self.namer = source, namer
        tree = source.tree
        self.local = {n.id for n in trees.walk(tree)
                      if isinstance(n, gast.Name)
                      and isinstance(n.ctx, (gast.Store, gast.Param))}

    def block(self, stmts):
        out = []
        for stmt in stmts:
            for new in self.statement(stmt):
                out.append(gast.copy_location(new, stmt)
                           if not hasattr(new, "lineno") else new)
        return out

    def statement(self, stmt):
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            stmt.body = self.block(stmt.body)
            stmt.orelse = self.block(stmt.orelse)
            return [stmt]
        if isinstance(stmt, gast.Assert):
            message = [stmt.msg] if stmt.msg is not None else []
            error = gast.Call(_load("AssertionError"), message, [])
            error.func.s2sad_builtin = AssertionError
            fail = raising(error, stmt)
            return [gast.If(gast.UnaryOp(gast.Not(), stmt.test), [fail], [])]
        if isinstance(stmt, gast.Raise):
            return [raising(stmt.exc, stmt, stmt.cause)]
        if isinstance(stmt, gast.With) and not fence._is_grad_of(self.source,
                                                                 stmt):
            return self.with_(stmt)
        if isinstance(stmt, gast.With):
            stmt.body = self.block(stmt.body)
            return [stmt]
        if isinstance(stmt, gast.Try):
            finally_ = self.block(stmt.finalbody)
            body = self.block(stmt.body + stmt.orelse)
            return _before_exits(body, finally_, self.namer) + \
                copy.deepcopy(finally_)
        if isinstance(stmt, gast.Delete):
            # `del xs[i]` -> `xs.pop(i)`; `del t` leaves t unbound (`t =
            # None`, marked so: see ssa `_Lowering.statement`), in order
            return [gast.Expr(gast.Call(gast.Attribute(
                t.value, "pop", gast.Load()), [t.slice], []))
                if isinstance(t, gast.Subscript) else _unbinding(t.id, stmt)
                for t in stmt.targets]
        if isinstance(stmt, gast.Global):
            return []
        call = getattr(stmt, "value", None)
        if isinstance(stmt, (gast.Expr, gast.Assign)) and self.method_of_local(
                call, "update") and isinstance(stmt, gast.Expr):
            return self.update(call, stmt)
        if isinstance(stmt, (gast.Expr, gast.Assign)) and self.method_of_local(
                call, "setdefault"):
            return self.setdefault(stmt, call)
        if not isinstance(stmt, (gast.If, gast.For, gast.While)):
            for node in trees.walk(stmt):
                if self.method_of_local(node, "setdefault"):
                    raise self.source.error(
                        errors.UnsupportedSyntaxError, node,
                        _SETDEFAULT_WHERE)
        return [stmt]

    def method_of_local(self, call, name):
        return (isinstance(call, gast.Call) and isinstance(
            call.func, gast.Attribute) and call.func.attr == name
            and not self.source.own_method(call.func)
            and isinstance(call.func.value, gast.Name)
            and call.func.value.id in self.local)

    def with_(self, node):
        """`with A as a: body` -> `_c = A; a = _c.__enter__(); body;
        _c.__exit__(None, None, None)` (also before each `return`, and
        each `break` or `continue` leaving it)."""
        setup, exits = [], []
        for item in node.items:
            manager = self.namer.temp()
            setup.append(_set(manager, item.context_expr, node))
            enter = gast.Call(gast.Attribute(_load(manager), "__enter__",
                                             gast.Load()), [], [])
            setup.append(_assign(item.optional_vars, enter, node)
                         if item.optional_vars is not None
                         else gast.copy_location(gast.Expr(enter), node))
            exits.insert(0, gast.copy_location(gast.Expr(gast.Call(
                gast.Attribute(_load(manager), "__exit__", gast.Load()),
                [_const(None)] * 3, [])), node))
        body = _before_exits(self.block(node.body), exits, self.namer)
        return setup + body + exits

    def update(self, call, node):
        """`d.update(other, k=v)` -> `d[key] = value` for each pair."""
        mapping = call.func.value
        out = []
        for source in call.args + [k.value for k in call.keywords
                                   if k.arg is None]:
            out += _fill(mapping.id, source, self.namer, node)
        for keyword in call.keywords:
            if keyword.arg is not None:
                out.append(_assign(gast.Subscript(
                    _load(mapping.id), _const(keyword.arg), gast.Store()),
                    keyword.value, node))
        return out

    def setdefault(self, stmt, call):
        """`v = d.setdefault(k, x)` -> `if k not in d: d[k] = x`;
        `v = d[k]`."""
        mapping = call.func.value.id
        if call.keywords or not 1 <= len(call.args) <= 2 or isinstance(
                stmt, gast.Assign) and not (
                len(stmt.targets) == 1
                and isinstance(stmt.targets[0], gast.Name)):
            raise self.source.error(
                errors.UnsupportedSyntaxError, stmt, _SETDEFAULT_WHERE)
        out = []
        key = call.args[0]
        if not isinstance(key, (gast.Name, gast.Constant)):
            name = self.namer.temp()
            out.append(_set(name, key, stmt))
            key = _load(name)
        default = call.args[1] if len(call.args) == 2 else _const(None)
        out.append(gast.If(
            gast.Compare(copy.deepcopy(key), [gast.NotIn()], [_load(mapping)]),
            [_assign(gast.Subscript(_load(mapping), copy.deepcopy(key),
                                    gast.Store()), default, stmt)], []))
        if isinstance(stmt, gast.Assign):
            out.append(_assign(stmt.targets[0], gast.Subscript(
                _load(mapping), copy.deepcopy(key), gast.Load()), stmt))
        return out


_SETDEFAULT_WHERE = (
    "`.setdefault(key, value)` is supported as a statement or assigned to a "
    "name (`v = d.setdefault(key, value)`), not inside an expression; assign "
    "it to a name first, or write `if key not in d: d[key] = value`")


def _may_change(stmts, name):
    """May `stmts` change `name` in place: do they, or pass it to a call?"""
    return any(name in {changed for changed, _ in changes(stmt)} or any(
        isinstance(node, gast.Call) and any(
            isinstance(a, gast.Name) and a.id == name for a in node.args)
        for node in gast.walk(stmt)) for stmt in stmts)


def raising(exc, where, cause=None):
    """`raise exc [from cause]` as the effect `runtime.raised(...)`, which
    `ssa` and the return lifting below take for an exit."""
    stmt = gast.Expr(_helper("raised", [exc] + ([cause] if cause else [])))
    stmt.s2sad_raises = True
    return gast.copy_location(stmt, where)


def _raises(stmt):
    return getattr(stmt, "s2sad_raises", False)


def _before_exits(stmts, run, namer):
    """`stmts` (a `try` or `with` block's) with the statements `run` (the
    `finally` block's, or the context managers' exits: copies) before each
    statement leaving it, as Python runs them: `return v` -> `_r = v;
    <run>; return _r` (the value is taken before they run: what they bind
    anew is not returned, what they change in place is, as the straight
    code that results says), and `break` or `continue` of a loop around
    the block (not of one inside it)."""
    rebound = _unbound_in(run)

    def make(node):
        value = node.value
        if value is None or isinstance(value, gast.Constant) or isinstance(
                value, gast.Name) and value.id not in rebound:
            return copy.deepcopy(run) + [node]
        name = namer.temp()
        return [_set(name, value, node)] + copy.deepcopy(run) + [
            gast.copy_location(gast.Return(_load(name)), node)]

    def block(stmts, in_loop):
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.Return):
                out += make(stmt)
                continue
            if isinstance(stmt, (gast.Break, gast.Continue)) and not in_loop:
                out += copy.deepcopy(run) + [stmt]
                continue
            if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With)):
                stmt.body = block(stmt.body, in_loop or isinstance(
                    stmt, (gast.For, gast.While)))
                if hasattr(stmt, "orelse"):
                    stmt.orelse = block(stmt.orelse, in_loop)
            out.append(stmt)
        return out
    return block(stmts, False) if run else stmts


def _unbinding(name, node):
    """`name = None`, marked as leaving `name` unbound (`del name`)."""
    unbind = _set(name, _const(None), node)
    unbind.s2sad_unbinds = True
    return unbind


def _helper(name, args):
    """A call of s2sad's `runtime.<name>`."""
    func = _load(name)
    func.s2sad_builtin = getattr(runtime, name)
    call = gast.Call(func, args, [])
    call.s2sad_listed = name in ("keys", "sort_order")  # (lists)
    return call


class _Rename(gast.NodeTransformer):
    def __init__(self, renames):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node


class _Shorthands(gast.NodeTransformer):
    """`a += b` -> `a = a + b`, marked as an update in place; `[a, *b, c]`
    -> `[a] + list(b) + [c]`, `(*b, c)` -> `tuple(b) + (c,)`: the items in
    order, each part evaluated once, left to right."""

    def visit_AugAssign(self, node):
        load = copy.deepcopy(node.target)
        load.ctx = gast.Load()
        value = gast.copy_location(
            gast.BinOp(left=load, op=node.op, right=node.value), node)
        value.s2sad_in_place = True  # `a += b` updates an array or list
        new = gast.Assign(targets=[node.target], value=value, type_comment=None)
        return gast.copy_location(self.generic_visit(new), node)

    def visit_List(self, node):
        return self.joined(node, "list")

    def visit_Tuple(self, node):
        return self.joined(node, "tuple")

    def joined(self, node, kind):
        self.generic_visit(node)
        if not isinstance(node.ctx, gast.Load) or not any(
                isinstance(elt, gast.Starred) for elt in node.elts):
            return node
        display = gast.List if kind == "list" else gast.Tuple
        parts, run = [], []
        for elt in node.elts:
            if isinstance(elt, gast.Starred):
                if run:
                    parts.append(display(run, gast.Load()))
                    run = []
                parts.append(_call(kind, [elt.value]))
            else:
                run.append(elt)
        if run:
            parts.append(display(run, gast.Load()))
        joined = parts[0]
        for part in parts[1:]:
            joined = gast.BinOp(joined, gast.Add(), part)
        return gast.copy_location(joined, node) if len(parts) > 1 else \
            gast.copy_location(parts[0], node)


class _Loops(gast.NodeTransformer):
    """Loops into canonical form: index loops over `range`, no early exits."""

    def __init__(self, source, namer):
        self.source = source
        self.namer = namer

    def builtin(self, node, name):
        return (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
                and self.source.lookup(node.func.id) is getattr(builtins, name))

    def visit_While(self, node):
        self.generic_visit(node)
        return self.exits(node)

    def visit_For(self, node):
        self.generic_visit(node)
        *before, loop = self.index_loop(node)
        return before + self.exits(loop)

    def index_loop(self, node):
        """`for target in iterable` -> `for _k in range(n): target = seq[_k]`."""
        node.iter = self.unreversed(node.iter)
        is_range = self.builtin(node.iter, "range") or (
            isinstance(node.iter, gast.Subscript)
            and self.builtin(node.iter.value, "range"))
        if is_range and isinstance(node.target, gast.Name):
            return [node]
        before, reads, count, index = [], [], [], None
        if self.builtin(node.iter, "enumerate") \
                and isinstance(node.target, gast.Tuple) \
                and len(node.target.elts) == 2:
            counter, target = node.target.elts
            iterable, start = self.arguments(node.iter, "enumerate",
                                             ["iterable", "start"], 1)
            sequences = [(iterable, target)]
            if self.builtin(iterable, "zip") and isinstance(
                    target, gast.Tuple) and len(target.elts) == len(
                    iterable.args):  # enumerate(zip(xs, ys))
                self.not_strict(iterable)
                sequences = list(zip(iterable.args, target.elts))
            if start is None and isinstance(counter, gast.Name):
                index = counter.id
            else:
                reads.append((counter, _binop(_load(self.index_name(node)),
                                              start or _const(0))))
        elif self.builtin(node.iter, "zip") \
                and isinstance(node.target, gast.Tuple) \
                and len(node.target.elts) == len(node.iter.args):
            self.not_strict(node.iter)
            sequences = list(zip(node.iter.args, node.target.elts))
        else:
            sequences = [(node.iter, node.target)]
        sequences = [(self.unreversed(s), t) for s, t in sequences]
        index = index or self.index_name(node)
        for seq, target in sequences:
            seq, target = self.indexable(seq, target, index, before, reads,
                                         node)
            if target is None:  # read by `indexable`
                count.append(_call("len", [seq]))
                continue
            if not isinstance(seq, gast.Name):
                name = self.namer.temp()
                before.append(_assign(gast.Name(name, gast.Store(), None, None),
                                      seq, node))
                seq = _load(name)
            count.append(_call("len", [seq]))
            item = gast.Subscript(copy.deepcopy(seq), _load(index), gast.Load())
            reads.append((target, item))
        length = count[0] if len(count) == 1 else _call("min", count)
        body = [_assign(_store(t), v, node) for t, v in reads] + node.body
        loop = gast.For(gast.Name(index, gast.Store(), None, None),
                        _call("range", [length]), body, node.orelse, None)
        gast.copy_location(loop, node)
        return before + [loop]

    def indexable(self, seq, target, index, before, reads, node):
        """What the loop indexes: `d.items()`, `.values()`, `.keys()` are
        the keys of d, read as `d[key]`; any other iterable that may not be
        a list, tuple or array (a dict, a set, an iterator) is made a list
        when the loop starts (`runtime.iterable`). Returns (seq, target),
        target None when the reads are set here."""
        func = getattr(seq, "func", None)
        if isinstance(func, gast.Attribute) and func.attr in (
                "items", "values", "keys") and not seq.args \
                and not seq.keywords and (func.attr != "items" or (
                    isinstance(target, gast.Tuple) and len(target.elts) == 2)):
            if isinstance(func.value, gast.Name) and \
                    func.value.id not in _rebound_in(node.body):
                # (its items assigned in the loop: read as it goes, as
                # Python's view of them; a copy would be another holder)
                mapping = func.value.id
            else:
                mapping = self.namer.temp()
                before.append(_set(mapping, func.value, node))
            keys = self.namer.temp()
            listed = _load("keys")
            listed.s2sad_builtin = runtime.keys
            before.append(_set(keys, gast.Call(listed, [_load(mapping)], []),
                               node))
            key = gast.Subscript(_load(keys), _load(index), gast.Load())
            if func.attr == "keys":
                return _load(keys), target
            value = gast.Subscript(_load(mapping), key, gast.Load())
            if func.attr == "values":
                reads.append((target, value))
            else:
                reads.append((target.elts[0], copy.deepcopy(key)))
                reads.append((target.elts[1], value))
            return _load(keys), None
        if isinstance(seq, gast.Attribute) and seq.attr == "flat":
            seq = gast.Call(gast.Attribute(seq.value, "ravel", gast.Load()),
                            [], [])  # the same items, as an array
        if isinstance(seq, gast.Name) and seq.id in _resized_in(node.body):
            raise self.source.error(
                errors.UnsupportedSyntaxError, node,
                f"the loop changes the length of `{seq.id}`, which it "
                "iterates (Python then iterates the new items too); loop "
                f"over a copy (`for v in list({seq.id}):`) or with `while`")
        if isinstance(seq, gast.Name) and seq.id in _unbound_in(node.body):
            # Python iterates what the name held when the loop started (as
            # the loop below does, from `runtime.iterable`), whatever it
            # is bound to later; but what the loop changes in place before
            # binding the name anew changes what it iterates
            if seq.id in _changed_in(node.body):
                raise self.source.error(
                    errors.UnsupportedSyntaxError, node,
                    f"the loop both changes `{seq.id}`, which it iterates, "
                    f"in place and binds `{seq.id}` anew; loop over a copy "
                    f"of what it holds when the loop starts (`for v in "
                    f"list({seq.id}):`, or `{seq.id}.copy()` of an array), "
                    "or give the new value another name")
        elif isinstance(seq, gast.Name) and seq.id in _assigned_in(
                node.body):
            # read as the loop goes: updates are seen (of a list or an
            # array, which the loop indexes: checked when it starts)
            before.append(gast.copy_location(gast.Expr(_helper(
                "check_indexed", [_load(seq.id), gast.Constant(
                    self.source.located(node, (
                        f"the loop changes `{seq.id}`, which it iterates, "
                        f"and `{seq.id}` is not a list, tuple or array (a "
                        "dict: its keys); loop over a list of what it holds "
                        f"when the loop starts (`for k in list({seq.id}):`)"
                    )), None)])), node))
            return seq, target
        if isinstance(seq, (gast.Name, gast.Attribute)) or (
                isinstance(seq, gast.Call) and not self.builtin(seq, "list")
                and not getattr(seq, "s2sad_listed", False)
                and not self.builtin(seq, "tuple")):
            func = _load("iterable")
            func.s2sad_builtin = runtime.iterable
            return gast.Call(func, [seq], []), target
        return seq, target

    def arguments(self, call, name, params, required):
        """The arguments of a call to a built-in, None where not given, in
        the order of `params`; a call that does not fit is refused."""
        names = [k.arg for k in call.keywords]
        values = call.args + [None] * (len(params) - len(call.args))
        fits = len(call.args) <= len(params) and not any(
            isinstance(a, gast.Starred) for a in call.args)
        for keyword in call.keywords:
            if keyword.arg not in params[len(call.args):]:
                fits = False
                break
            values[params.index(keyword.arg)] = keyword.value
        if not fits or any(v is None for v in values[:required]) or \
                len(set(names)) < len(names):
            raise self.error(call, f"this call of `{name}` in a `for` loop "
                             "is not supported; pass "
                             f"{', '.join(params)} by position or name")
        return values

    def not_strict(self, call):
        """`zip(..., strict=False)` loops like `zip(...)`; `strict=True`
        (which raises when the lengths differ) is refused."""
        for keyword in call.keywords:
            if keyword.arg == "strict" and isinstance(
                    keyword.value, gast.Constant) and not keyword.value.value:
                continue
            what = "`strict=`" if keyword.arg == "strict" else \
                f"argument `{keyword.arg}=`" if keyword.arg else "`**`"
            raise self.error(call, f"`zip` with {what} in a `for` loop is not "
                             "supported; leave it out, and check that the "
                             "lengths agree before calling the function")

    def error(self, node, message):
        from s2sad import errors
        return self.source.error(errors.UnsupportedSyntaxError, node, message)

    def unreversed(self, seq):
        """reversed(seq) -> seq[::-1]: sliceable, sized and reversible."""
        if self.builtin(seq, "reversed") and len(seq.args) == 1:
            return gast.Subscript(seq.args[0], gast.Slice(
                None, None, _const(-1)), gast.Load())
        return seq

    def exits(self, loop):
        """Rewrite `return`, `break` and `continue` out of a loop's body."""
        before, after = [], []
        if _exits(loop.body, gast.Return):
            flag, value = self.namer.fresh("_returned"), self.namer.fresh("_result")
            before += [_set(flag, _const(False), loop), _set(value, _const(None), loop)]
            loop.body = _replace(loop.body, gast.Return, lambda node: [
                _set(value, node.value or _const(None), node),
                _set(flag, _const(True), node), gast.Break()])
            after.append(gast.copy_location(gast.If(
                _load(flag), [gast.Return(_load(value))], []), loop))
        if _exits(loop.body, gast.Break):
            broke = self.namer.fresh("_broke")
            before.append(_set(broke, _const(False), loop))
            loop.body = _replace(loop.body, gast.Break, lambda node: [
                _set(broke, _const(True), node), gast.Continue()])
            if isinstance(loop, gast.For):
                loop, setup = self.while_over_range(loop)
                before += setup
            not_broke = gast.UnaryOp(gast.Not(), _load(broke))
            forever = isinstance(loop.test, gast.Constant) and loop.test.value is True
            loop.test = not_broke if forever else gast.BoolOp(
                gast.And(), [not_broke, loop.test])
        if _exits(loop.body, gast.Continue):
            loop.body = _strip(_lift(loop.body, gast.Continue), gast.Continue) \
                or [gast.Pass()]
        return before + [loop] + after

    def while_over_range(self, loop):
        """`for i in range(...)` -> `_k = 0; while _k < len(r): i = r[_k]; ...`."""
        seq, k = self.namer.temp(), self.namer.fresh("_k")
        setup = [_set(seq, loop.iter, loop), _set(k, _const(0), loop)]
        test = gast.Compare(_load(k), [gast.Lt()], [_call("len", [_load(seq)])])
        step = [_assign(_store(loop.target), gast.Subscript(
                    _load(seq), _load(k), gast.Load()), loop),
                _set(k, _binop(_load(k), _const(1)), loop)]
        return gast.copy_location(gast.While(test, step + loop.body, []),
                                  loop), setup

    def index_name(self, node):
        if not hasattr(node, "_s2sad_index"):
            node._s2sad_index = self.namer.fresh("_k")
        return node._s2sad_index


def _assigned_in(stmts):
    """Names the statements assign, update or assign into."""
    names = set()
    for node in gast.walk(gast.Module(list(stmts), [])):
        if isinstance(node, (gast.Assign, gast.AugAssign)):
            for target in getattr(node, "targets", None) or [node.target]:
                while isinstance(target, (gast.Subscript, gast.Attribute)):
                    target = target.value
                if isinstance(target, gast.Name):
                    names.add(target.id)
        elif isinstance(node, gast.Call) and isinstance(
                node.func, gast.Attribute) and isinstance(
                node.func.value, gast.Name):
            names.add(node.func.value.id)  # xs.append(v)
    return names


def _unbound_in(stmts):
    """Names the statements bind anew (`xs = ...`, `a, xs = ...`, `for xs
    in ...`, `with ... as xs`, `(xs := ...)`) or delete: the object a name
    held before is no longer the one it holds."""
    names = set()
    for node in gast.walk(gast.Module(list(stmts), [])):
        targets = []
        if isinstance(node, gast.Assign):
            targets = node.targets
        elif isinstance(node, (gast.For, gast.NamedExpr)):
            targets = [node.target]
        elif isinstance(node, gast.withitem):
            targets = [node.optional_vars] if node.optional_vars else []
        elif isinstance(node, gast.Delete):
            targets = node.targets
        for target in targets:
            while isinstance(target, gast.Starred):
                target = target.value
            if isinstance(target, gast.Name):
                names.add(target.id)
            elif isinstance(target, (gast.Tuple, gast.List)):
                names |= _unbound_in([gast.Assign(target.elts, None)])
    return names


def _changed_in(stmts):
    """Names the statements change in place: assign into (`xs[i] = v`,
    `a, xs[0] = ...`), update (`xs += v`) or call a changing method of
    (`xs.sort()`)."""
    return {name for name, _ in changes(gast.Module(list(stmts), []))}


def _rebound_in(stmts):
    """Names the statements bind anew or update, or call a method of
    (`d = {...}`, `d |= e`, `d.update(e)`), not those they only assign
    into (`d[k] = v`)."""
    names = set()
    for node in gast.walk(gast.Module(list(stmts), [])):
        if isinstance(node, (gast.Assign, gast.AugAssign)):
            for target in getattr(node, "targets", None) or [node.target]:
                names |= {n.id for n in gast.walk(target)
                          if isinstance(n, gast.Name) and isinstance(
                              n.ctx, gast.Store)}
        elif isinstance(node, gast.Call) and isinstance(
                node.func, gast.Attribute) and isinstance(
                node.func.value, gast.Name):
            names.add(node.func.value.id)
        elif isinstance(node, (gast.For, gast.comprehension)) and \
                isinstance(node.target, gast.Name):
            names.add(node.target.id)
    return names


def _resized_in(stmts):
    """Names whose length the statements change (`xs.append(v)`)."""
    return {name for name, _ in changes(gast.Module(list(stmts), []),
                                        _RESIZERS)}


def changes(tree, methods=None):
    """(name, node) for each statement of `tree` that assigns into, updates
    in place or changes by a method a name (`y[0] = v`, `a[0], a[1] = ...`,
    `y += v`, `y.append(v)`), nested functions included; with `methods`,
    only the calls of those methods."""
    for node in gast.walk(tree):
        targets = []
        if methods is None and isinstance(node, (gast.Assign,
                                                 gast.AugAssign)):
            targets = getattr(node, "targets", None) or [node.target]
            targets = [t for t in targets for t in (
                t.elts if isinstance(t, (gast.Tuple, gast.List)) else [t])]
            if isinstance(node, gast.Assign):  # (not a rebinding)
                targets = [t for t in targets if not isinstance(t, gast.Name)]
        elif isinstance(node, gast.Call) and isinstance(
                node.func, gast.Attribute) and node.func.attr in (
                    methods or MUTATORS):
            targets = [node.func.value]
        for target in targets:
            while isinstance(target, (gast.Subscript, gast.Attribute)):
                target = target.value
            if isinstance(target, gast.Name):
                yield target.id, node


# methods that change their object
MUTATORS = {"append", "extend", "insert", "pop", "remove", "sort", "reverse",
            "fill", "update", "clear", "setdefault", "resize", "put",
            "itemset", "popitem", "discard", "add"}
_RESIZERS = {"append", "extend", "insert", "pop", "remove", "clear"}


def _load(name):
    return gast.Name(name, gast.Load(), None, None)


def _store(target):
    target = copy.deepcopy(target)
    for node in gast.walk(target):
        if isinstance(node, gast.Name):
            node.ctx = gast.Store()
    return target


def _const(value):
    return gast.Constant(value, None)


def _binop(left, right):
    return gast.BinOp(left, gast.Add(), right)


def _call(name, args):
    """A call of the builtin `name`, whatever the user's module calls `name`
    (the mark tells the lowering which object it is)."""
    func = _load(name)
    func.s2sad_builtin = getattr(builtins, name)
    return gast.Call(func, args, [])


def _assign(target, value, where):
    return gast.copy_location(
        gast.Assign(targets=[target], value=value, type_comment=None), where)


def _set(name, value, where):
    return _assign(gast.Name(name, gast.Store(), None, None), value, where)


def _is_constant_expr(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)


def _nodes(stmts):
    """Every node in `stmts`, not looking inside nested loops (or defs)."""
    stack = list(stmts)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (gast.For, gast.While, gast.FunctionDef)):
            stack.extend(gast.iter_child_nodes(node))


def _exits(stmts, kind):
    return any(isinstance(node, kind) for node in _nodes(stmts))


def _always_returns(stmts, kind=gast.Return):
    for stmt in stmts:
        if isinstance(stmt, kind) or _raises(stmt):
            return True
        if isinstance(stmt, gast.If) and _always_returns(stmt.body, kind) \
                and _always_returns(stmt.orelse, kind):
            return True
    return False


def _lift(stmts, kind):
    """Move what follows an `if` that exits (`kind`: Return or Continue) on
    some paths into its branches that do not, so exits end their blocks."""
    out = []
    for i, stmt in enumerate(stmts):
        out.append(stmt)
        if isinstance(stmt, kind) or _raises(stmt):
            return out  # anything after it is unreachable
        if isinstance(stmt, gast.If) and _exits([stmt], kind):
            rest = stmts[i + 1:]
            for field in ("body", "orelse"):
                branch = getattr(stmt, field)
                if not _always_returns(branch, kind):
                    branch = branch + copy.deepcopy(rest)
                setattr(stmt, field, _lift(branch, kind))
            return out
    return out


def _replace(stmts, kind, make):
    """Replace each `kind` statement (outside nested loops) by `make(node)`."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, kind):
            out += make(stmt)
        elif isinstance(stmt, gast.If):
            stmt.body = _replace(stmt.body, kind, make)
            stmt.orelse = _replace(stmt.orelse, kind, make)
            out.append(stmt)
        else:
            out.append(stmt)
    return out


def _strip(stmts, kind):
    """Drop `kind` statements, which `_lift` left at the ends of blocks."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.If):
            stmt.body = _strip(stmt.body, kind) or [gast.Pass()]
            stmt.orelse = _strip(stmt.orelse, kind)
        if not isinstance(stmt, kind):
            out.append(stmt)
    return out

"""Desugar: rewrite the fenced tree into the canonical forms `ssa` lowers.

After this pass:
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
import copy

import gast

from s2sad import errors, runtime
from s2sad.naming import Namer, names_in


def desugar(source):
    """Rewrite `source.tree` in place into canonical form; return it."""
    func = source.tree
    namer = Namer(names_in(func))
    loops = _Loops(source, namer)
    comprehensions = _Comprehensions(source, namer)
    body = []
    for stmt in comprehensions.block(func.body):
        new = loops.visit(_AugAssign().visit(stmt))
        body += new if isinstance(new, list) else [new]
    body = [s for s in body if not _is_constant_expr(s)]
    if not body or not _always_returns(body):
        body.append(gast.Return(value=gast.Constant(value=None, kind=None)))
    func.body = _lift(body, gast.Return)
    return func


class _Comprehensions:
    """`[elt for t in xs if c]` -> a list built before the statement:
    `_t1 = []; for t_1 in xs: if c: _t1.append(elt)`, the comprehension's
    own variables renamed (they do not leak, as in Python 3)."""

    def __init__(self, source, namer):
        self.source, self.namer = source, namer

    def block(self, stmts):
        out = []
        for stmt in stmts:
            for field in ("body", "orelse"):
                if isinstance(getattr(stmt, field, None), list):
                    setattr(stmt, field, self.block(getattr(stmt, field)))
            before = []
            for field in ("value", "test", "iter", "targets", "target"):
                if hasattr(stmt, field) and not isinstance(stmt, gast.While):
                    setattr(stmt, field, self.hoist(getattr(stmt, field),
                                                    before))
            if isinstance(stmt, gast.While) and _has_comprehension(stmt.test):
                raise self.error(stmt.test, "in a `while` test")
            out += before + [stmt]
        return out

    def error(self, node, where):
        from s2sad import runtime, errors
        return self.source.error(
            errors.UnsupportedSyntaxError, node,
            f"a list comprehension {where} is not supported; assign it to a "
            "variable on a line of its own first")

    def hoist(self, node, before):
        if isinstance(node, list):
            return [self.hoist(n, before) for n in node]
        if not isinstance(node, gast.AST):
            return node
        if isinstance(node, (gast.IfExp, gast.BoolOp)) and _has_comprehension(
                node):
            raise self.error(node, "inside `... if ... else ...`, `and` or "
                             "`or`")
        if isinstance(node, gast.ListComp):
            return self.lower(node, before)
        for field in node._fields:
            setattr(node, field, self.hoist(getattr(node, field), before))
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
        inner = gast.Expr(gast.Call(gast.Attribute(
            _load(result), "append", gast.Load()), [comp.elt], []))
        body = [inner]
        for generator in reversed(comp.generators):
            for test in reversed(generator.ifs):
                body = [gast.If(test, body, [])]
            body = [gast.For(_store(generator.target), generator.iter, body,
                             [], None)]
        for node in gast.walk(body[0]):
            if isinstance(node, gast.stmt):
                gast.copy_location(node, comp)
        before.append(_set(result, gast.List([], gast.Load()), comp))
        before += self.block(body)
        return _load(result)


class _Rename(gast.NodeTransformer):
    def __init__(self, renames):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node


def _has_comprehension(node):
    return any(isinstance(n, gast.ListComp) for n in gast.walk(node))


class _AugAssign(gast.NodeTransformer):
    def visit_AugAssign(self, node):
        load = copy.deepcopy(node.target)
        load.ctx = gast.Load()
        value = gast.BinOp(left=load, op=node.op, right=node.value)
        value.s2sad_in_place = True  # `a += b` updates an array or list
        new = gast.Assign(targets=[node.target], value=value, type_comment=None)
        return gast.copy_location(new, node)


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
        if isinstance(seq, gast.Name) and seq.id in _assigned_in(node.body):
            return seq, target  # read as the loop goes: updates are seen
        if isinstance(seq, (gast.Name, gast.Attribute)) or (
                isinstance(seq, gast.Call) and not self.builtin(seq, "list")
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
        if isinstance(stmt, kind):
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
        if isinstance(stmt, kind):
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

"""Analyses on the SSA form.

`active(func, wrt)`: the SSA names that both depend on a differentiated input
(through differentiable operations) and reach the returned value. Only active
names get adjoints.

`known_scalars(func)`: names statically known to hold a Python number (literal
constants, results of `math` functions and of arithmetic on known scalars), so
the engine can skip unbroadcasting against them.
"""

import collections
import inspect
import math
import operator
import weakref

import gast
import numpy as np

from s2sad import errors, frontend, runtime, ssa, trees
from s2sad.rules import registry

# ndarray methods whose NumPy function has another name
_ARRAY_METHODS = {"flatten": "ravel", "conj": "conjugate"}


def rule_of(stmt):
    """The registry rule for an SSA assignment (None if there is none)."""
    if isinstance(stmt.fn, ssa.Method):
        # `x.sum(axis=0)` is `np.sum(x, axis=0)`: an array method without a
        # rule of its own uses the NumPy function's, the receiver first.
        own = registry.lookup(stmt.fn)
        if own is not None:
            return own
        name = _ARRAY_METHODS.get(stmt.fn.name, stmt.fn.name)
        function = getattr(np, name, None)
        return registry.lookup(function) if callable(function) else None
    if stmt.fn is getattr:
        return registry.lookup(registry.attribute(stmt.args[1].value))
    return registry.lookup(stmt.fn)


def _propagates(stmt, strings):
    if _makes_string(stmt, strings):
        return False  # "%.3f" % x formats x: the string has no derivative
    if stmt.fn is ssa.identity:
        return True
    rule = rule_of(stmt)
    return rule is None or rule.differentiable


def _makes_string(stmt, strings):
    """Does `stmt` give a string: a string constant, or an operator (`%`,
    `+`, `*`) with a string operand (a constant or a name in `strings`)?"""
    if stmt.fn is not ssa.identity and stmt.fn not in _STRING_OPERATORS:
        return False  # (not getitem: d["key"] reads a dict)
    return any(isinstance(a, ssa.Const) and isinstance(a.value, (str, bytes))
               or isinstance(a, ssa.Var) and a.name in strings
               for a in stmt.operands())


_STRING_OPERATORS = {operator.mod, operator.add, operator.mul, operator.imod,
                     operator.iadd, operator.imul}


def _edges(stmts):
    """(target, [source names]) for every data dependence that carries a
    derivative."""
    strings = set()  # names holding strings, known from constants
    for stmt in ssa.walk(stmts):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None and \
                _makes_string(stmt, strings):
            strings.add(stmt.target)
    for stmt in ssa.walk(stmts):
        if isinstance(stmt, ssa.Assign):
            if stmt.target is not None and _propagates(stmt, strings):
                yield stmt.target, [a.name for a in stmt.operands()
                                    if isinstance(a, ssa.Var)]
        elif isinstance(stmt, (ssa.If, ssa.For, ssa.While)):
            for phi in stmt.phis:
                yield phi.target, [o.name for o in (phi.left, phi.right)
                                   if isinstance(o, ssa.Var)]


def _reached(edges, start):
    """The names `start` reaches along `edges`, (target, [source names])
    pairs (a fixpoint: loops join values back)."""
    reached = set(start)
    changed = True
    while changed:
        changed = False
        for target, sources in edges:
            if target not in reached and any(s in reached for s in sources):
                reached.add(target)
                changed = True
    return reached


def flows_from(func, names, skip=()):
    """The SSA names whose values may come from `names`, through any
    operation but the functions in `skip`."""
    edges = [(s.target, [o.name for o in s.operands()
                         if isinstance(o, ssa.Var)])
             for s in ssa.walk(func.body) if isinstance(s, ssa.Assign)
             and s.target is not None and s.fn not in skip]
    edges += [(p.target, [o.name for o in (p.left, p.right)
                          if isinstance(o, ssa.Var)])
              for s in ssa.walk(func.body) for p in getattr(s, "phis", ())]
    return _reached(edges, names)


def reads(stmt, names):
    """Does the SSA statement `stmt` read one of `names` (its operands, a
    loop's iterable, a return's value, a branch's test)?"""
    operands = stmt.operands() if isinstance(stmt, ssa.Assign) else [
        getattr(stmt, f, None) for f in ("iter", "value", "test")]
    return any(isinstance(o, ssa.Var) and o.name in names for o in operands)


def returned(stmts):
    """The operands of every `return` (after lowering there is exactly one)."""
    return [s.value for s in ssa.walk(stmts) if isinstance(s, ssa.Return)]


def varied(func, wrt):
    """SSA names that depend on `wrt` through differentiable operations."""
    return active(func, wrt, None)


def active(func, wrt, outputs):
    """SSA names on a differentiable path from `wrt` to `outputs` (with
    outputs None: every name depending on `wrt`). Refuses a value of the
    function's that a module-level container carries back to it (see
    `check_read_back`)."""
    edges = list(_edges(func.body))
    varied = _reached(edges, wrt)
    if outputs is None:
        return varied
    useful = {o.name for o in outputs if isinstance(o, ssa.Var)}
    # (a shift that a softmax or logsumexp cancels carries no derivative)
    cancelled = shifts_cancelled(func)
    edges = [(target, [s for s in sources if (target, s) not in cancelled])
             for target, sources in edges] if cancelled else edges
    changed = True
    while changed:
        changed = False
        for target, sources in reversed(edges):
            if target in useful:
                for s in sources:
                    if s not in useful:
                        useful.add(s)
                        changed = True
    check_read_back(func, varied, useful)
    return varied & useful


# ---- shifts that cancel ----

_SHIFTS = ("max", "min", "amax", "amin", "nanmax", "nanmin", "mean", "sum")
_SUBTRACT = (operator.sub, np.subtract)


def shifts_cancelled(func):
    """The reads (target, source) of a shift `m` that the value it shifts
    cancels, so that no derivative flows through them: `d = s - m` where
    `m` reduces `s` over the axes a sum then normalises over (so that m
    is the same along them: axes it keeps or that lead; or another
    array's, over axes counted from the end), in a softmax (`e = exp(d)`,
    read only by `e / sum(e, axes, keepdims=True)`), a log-softmax (`d -
    log(sum(e, ...))`) or a logsumexp (`m + log(sum(e, ...))`, whose two
    reads of m cancel). Its derivative through them is exactly zero: the
    adjoint of `d` sums to zero over the axes m is the same along (in
    exact arithmetic), and computing it costs the max's tie weights and
    more."""
    defs = {s.target: s for s in ssa.walk(func.body)
            if isinstance(s, ssa.Assign) and s.target is not None}
    readers = None  # (walked for once a shift is found)
    cancelled = set()
    for d, stmt in defs.items():
        if not _is_op(stmt, _SUBTRACT):
            continue
        s, m = stmt.args
        shift, unexpanded = _kept_reduction(m.name, defs, _SHIFTS)
        if shift is None or _name(shift[0]) != s.name and not all(
                a < 0 for a in _axes(shift[1])):
            continue  # (of another array: its axes counted from the end)
        if readers is None:
            readers = _readers(func)
        exps = [r for r in readers[d] if _is_op(r, (np.exp,), d)]
        if len(exps) != 1:
            continue
        e = exps[0].target
        sums = [r for r in readers[e] if _reduction(r, ("sum",))]
        normalised = _reduction(sums[0], ("sum",)) if len(sums) == 1 else None
        z = sums[0].target if normalised is not None else None
        expanded = [r for r in readers[z] if _expansion(r)] if z else []
        if normalised is not None and len(readers[z]) == 1 == len(expanded):
            # (`np.sum(e, -1)[..., None]`: the sum as if its axis was kept)
            z, normalised = expanded[0].target, _kept_reduction(
                expanded[0].target, defs, ("sum",))[0] or normalised
        if normalised is None or shift[1] is not None and set(_axes(
                shift[1])) != set(_axes(normalised[1])):
            continue  # (m may vary along the axes the sum is over)
        # (dividing by the sum, or subtracting its log, broadcasts it back)
        back = _same_along(shift[1:], normalised[1:])
        others = [r for r in readers[d] if r is not exps[0]]
        divided = [r for r in readers[e] if r is not sums[0]]
        if back and not others and all(_is_op(
                r, (operator.truediv, np.divide), e, z) for r in divided) \
                and all(any(r is q for q in divided) for r in readers[z]):
            cancelled.add((d, m.name))  # softmax
            continue
        logs = readers[z]
        if divided or len(logs) != 1 or not _is_op(logs[0], (np.log,), z):
            continue
        log = logs[0].target
        if back and others and all(_is_op(r, _SUBTRACT, d, log)
                                   for r in others) and len(
                                       readers[log]) == len(others):
            cancelled.add((d, m.name))  # log-softmax
        elif not others and len(readers[log]) == 1:
            # logsumexp: m, laid out as the sum is (its axes kept, or not:
            # m before `[:, None]`), or a number, plus the sum's log
            laid_out = [m.name] if shift[1] is None or \
                shift[2] == normalised[2] else []
            laid_out += [unexpanded] if unexpanded and not normalised[2] \
                else []
            lse = readers[log][0]
            added = next((name for name in laid_out if any(
                _is_op(lse, (operator.add, np.add), *pair)
                for pair in ((name, log), (log, name)))), None)
            if added is not None:
                cancelled.update({(d, m.name), (lse.target, added)})
    return cancelled


def _kept_reduction(name, defs, kinds):
    """(`_reduction` of the value `name` holds, the name of the reduction
    an expansion of it expands, or None): a reduction over one axis that
    `[:, None]`, `[..., None]` or `np.expand_dims` puts back where it was
    is read as one that keeps it (`m = s.max(axis=1)`, then `m[:, None]`)."""
    made = defs.get(name)
    expansion = _expansion(made)
    if expansion is None:
        return _reduction(made, kinds), None
    source, position = expansion
    reduced = _reduction(defs.get(source), kinds)
    if reduced is None or reduced[2] or reduced[1] != position:
        return None, None
    return (reduced[0], reduced[1], True), source


def _expansion(stmt):
    """(the name it expands, the axis it adds) of `x[:, None]`, `x[...,
    None]`, `x[None]` (one None among full slices, after an Ellipsis the
    axis counted from the end) or `np.expand_dims(x, axis)`; else None."""
    if not isinstance(stmt, ssa.Assign) or stmt.kwargs or len(
            stmt.args) != 2 or not isinstance(stmt.args[0], ssa.Var) or \
            not isinstance(stmt.args[1], ssa.Const):
        return None
    index = stmt.args[1].value
    if stmt.fn is np.expand_dims and isinstance(index, int):
        return stmt.args[0].name, index
    if stmt.fn is not operator.getitem:
        return None
    parts = index if isinstance(index, tuple) else (index,)
    full = slice(None)
    if parts.count(None) != 1 or not all(
            p is None or p == full or p is Ellipsis for p in parts) or \
            parts.count(Ellipsis) > 1:
        return None
    at = parts.index(None)
    if Ellipsis in parts[:at]:
        return stmt.args[0].name, at - len(parts)
    return stmt.args[0].name, at


def within_shapes(func):
    """name -> the name of the array it reduces, keeping the axes it reduces,
    or over leading ones, or all of them (`np.max(s, axis=1,
    keepdims=True)`, `np.max(s, axis=0)`, `s.mean()`): a value that never
    broadcasts wider than the array it reduces."""
    within = {}
    for stmt in ssa.walk(func.body):
        reduced = _reduction(stmt, _SHIFTS)
        if reduced is not None and isinstance(reduced[0], ssa.Var) and (
                reduced[1] is None or reduced[2] or _leading(reduced[1])):
            within[stmt.target] = reduced[0].name
    return within


def _readers(func):
    """name -> the statements (and phis) that read it; a phi whose value is
    never read (a loop's last `e`, kept for after the loop) reads nothing."""
    readers = collections.defaultdict(list)
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign):
            read = stmt.operands()
        else:
            read = [getattr(stmt, f, None) for f in (
                "test", "iter", "value", "var", "result")]
        for operand in read:
            if isinstance(operand, ssa.Var):
                readers[operand.name].append(stmt)
        for phi in getattr(stmt, "phis", ()):
            for operand in (phi.left, phi.right):
                if isinstance(operand, ssa.Var):
                    readers[operand.name].append(phi)
    unread = True
    while unread:
        unread = {id(r) for read in readers.values() for r in read
                  if isinstance(r, ssa.Phi) and not readers.get(r.target)}
        for name, read in readers.items():
            read[:] = [r for r in read if id(r) not in unread]
    return readers


def _name(operand):
    return operand.name if isinstance(operand, ssa.Var) else None


def _is_op(stmt, fns, *names):
    """Is `stmt` a call of one of `fns` on the Vars `names` (on two Vars,
    with no names given), without keywords?"""
    if not isinstance(stmt, ssa.Assign) or stmt.target is None or \
            stmt.kwargs or not any(stmt.fn is f for f in fns) or \
            not all(isinstance(a, ssa.Var) for a in stmt.args):
        return False
    if names:
        return tuple(a.name for a in stmt.args) == names
    return len(stmt.args) == 2


def _reduction(stmt, kinds):
    """(array, axis, keepdims) of `stmt` when it is `np.KIND(a, axis,
    keepdims=...)` or `a.KIND(axis, keepdims=...)` for one of `kinds`,
    with constant options and no others; else None."""
    if not isinstance(stmt, ssa.Assign) or stmt.spreads():
        return None
    fn = stmt.fn
    kind = fn.name if isinstance(fn, ssa.Method) else next(
        (k for k in kinds if getattr(np, k, None) is fn), None)
    if kind not in kinds or not 1 <= len(stmt.args) <= 2:
        return None
    options = dict(stmt.kwargs)
    if len(stmt.args) == 2:
        if "axis" in options:
            return None
        options["axis"] = stmt.args[1]
    if set(options) - {"axis", "keepdims"} or not all(
            isinstance(v, ssa.Const) for v in options.values()):
        return None
    axis = options["axis"].value if "axis" in options else None
    keepdims = options["keepdims"].value if "keepdims" in options else False
    if isinstance(axis, list):
        axis = tuple(axis)
    if keepdims not in (True, False) or not (
            axis is None or isinstance(axis, (int, tuple))):
        return None
    return stmt.args[0], axis, bool(keepdims)


def _axes(axis):
    return () if axis is None else axis if isinstance(axis, tuple) else (
        axis,)


def _same_along(shift, normalised):
    """Is a shift reduced over (axis, keepdims) `shift` the same along the
    axes the sum (axis, keepdims) `normalised` is over, and do both
    broadcast along them (dividing by the sum, or subtracting its log)?
    A reduction broadcasts along its axes where it keeps them, or where
    they lead (`np.max(a, axis=0)` against a)."""
    (axis, keepdims), (over, kept) = shift, normalised
    if over is not None and not kept and not _leading(over):
        return False
    return axis is None or set(_axes(axis)) == set(_axes(over)) and (
        keepdims or _leading(axis))


def _leading(axis):
    """Are the axes `axis` 0, 1, ... (a reduction over them, not keeping
    them, broadcasts back along them)?"""
    return axis is not None and sorted(_axes(axis)) == list(range(len(
        _axes(axis))))


# ---- values that leave through a container and come back ----

# the methods that put a value into their object
STORING = {"append", "extend", "insert", "update", "setdefault", "add",
           "appendleft", "extendleft", "__setitem__"}
_CONTAINERS = (list, dict, set, collections.deque)


def check_read_back(func, varied, useful):
    """Refuse a read of a list, dict or set that is not the function's own
    (a module-level one, one of a closure or of an object: `TRAJ`,
    `LOG.values`, `self.history`) which the function, or a function of
    the user's it calls, has put a value depending on the inputs into
    (`TRAJ.append(x * 2)`), where what it reads reaches the result
    (`return TRAJ[0] * TRAJ[1]`): s2sad reads such a container as data,
    constant, so the derivative through it would be silently 0. A record
    the function only writes (`losses.append(loss)`), or reads for what
    carries no derivative (`len(losses)`), stays as it is."""
    params = set(func.all_params)
    stores = _stores(func, varied, params)
    if not stores:
        return
    defs = definitions(func)
    seen = []  # (key, its store) met so far in program order

    def visit(stmts, loops):
        for stmt in stmts:
            if isinstance(stmt, ssa.Assign):
                if stmt.target in useful and stmt.fn not in (
                        ssa.identity, getattr):
                    for operand, key in _read_holders(stmt, defs, params):
                        store = next(
                            (st for k, st in seen + [
                                kv for loop in loops for kv in loop]
                             if _same_holder(k, key)), None)
                        if store is not None:
                            raise _read_back(func, stmt, operand, key, store)
                seen.extend((k, stmt) for k in stores.get(id(stmt), ()))
            elif isinstance(stmt, (ssa.For, ssa.While)):
                inside = [(k, st) for st in ssa.walk([stmt])
                          if isinstance(st, ssa.Assign)
                          for k in stores.get(id(st), ())]
                visit(getattr(stmt, "test_body", []) + stmt.body,
                      loops + [inside])
            elif isinstance(stmt, ssa.If):
                visit(stmt.body, loops)
                visit(stmt.orelse, loops)

    visit(func.body, [])


def _stores(func, varied, params):
    """id(statement) -> the holders (`_holder` keys) a statement puts a
    value depending on the inputs into, for the statements that do."""
    stores, defs = {}, None  # (the definitions, made once one is needed)
    for stmt in ssa.walk(func.body):
        if not isinstance(stmt, ssa.Assign) or not any(
                isinstance(o, ssa.Var) and o.name in varied
                for o in stmt.operands()):
            continue
        fn = stmt.fn
        keys = set()
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, _CONTAINERS) and getattr(
                fn, "__name__", None) in STORING:
            keys.add(("object", _Held(owner)))  # TRAJ.append(v)
        elif isinstance(fn, ssa.Method) and fn.name in STORING and \
                stmt.args:  # self.history.append(v)
            defs = defs if defs is not None else definitions(func)
            key = _holder(stmt.args[0], defs, params)
            if key is not None:
                keys.add(key)
        else:
            keys |= {("object", _Held(c)) for c in touched_by(fn)[0]}
        if keys:
            stores[id(stmt)] = keys
    return stores


def outside_holder(func, operand, defs):
    """Is `operand` a container not the function's own that its reads are
    followed for (see `check_read_back`): one reached from a parameter
    (`self.history`) or a module-level name? (`defs`: `definitions`.)"""
    return _holder(operand, defs, set(func.all_params)) is not None


def definitions(func):
    """SSA name -> the statement assigning it."""
    return {s.target: s for s in ssa.walk(func.body)
            if isinstance(s, ssa.Assign) and s.target is not None}


def _read_holders(stmt, defs, params):
    """(operand, `_holder` key) of each container `stmt` reads something
    carrying a derivative from: its operands (`TRAJ[0]`, `sum(TRAJ)`),
    the object of a method bound to one (`TRAJ.pop()`, `D.get(k)`), and
    those a function of the user's it calls reads (`total()` reading
    `TRAJ`, a closure's `last()` reading its `hist`). Not what reads none
    (`len(TRAJ)`: its rule has no derivative)."""
    rule = rule_of(stmt)
    if rule is not None and not rule.differentiable:
        return []
    found = [(o, _holder(o, defs, params)) for o in stmt.operands()]
    owner = getattr(stmt.fn, "__self__", None)
    if isinstance(owner, _CONTAINERS):  # (`TRAJ.pop()`: TRAJ)
        named = stmt.callee.value if isinstance(
            stmt.callee, gast.Attribute) else None
        found.append((named and f"`{trees.unparse(named)}`",
                      ("object", _Held(owner))))
    name = getattr(stmt.fn, "__name__", "the function")
    found += [(f"a list, dict or set that `{name}` reads",
               ("object", _Held(c))) for c in touched_by(stmt.fn)[1]]
    return [(o, key) for o, key in found if key is not None]


def _holder(operand, defs, params):
    """What a container operand is, to match stores and reads: ("object",
    it) for one known now (a module-level name's, an attribute or item of
    one; `_Held`), ("parameter", name, *attributes or keys) for one
    reached from a parameter; None for the function's own values."""
    if isinstance(operand, ssa.Free):
        value = operand.value
        return ("object", _Held(value)) if isinstance(
            value, _CONTAINERS) or hasattr(value, "__dict__") else None
    if not isinstance(operand, ssa.Var):
        return None
    stmt = defs.get(operand.name)
    if stmt is None:
        return ("parameter", operand.name) if operand.name in params \
            else None
    if stmt.fn is ssa.identity:
        return _holder(stmt.args[0], defs, params)
    if stmt.fn not in (getattr, operator.getitem) or len(stmt.args) != 2 \
            or not isinstance(stmt.args[1], ssa.Const):
        return None
    base = _holder(stmt.args[0], defs, params)
    part = stmt.args[1].value
    if base is None or base[0] == "parameter":
        return base and base + (part,)
    try:  # (an attribute or item of an object known now)
        value = getattr(base[1].value, part) if stmt.fn is getattr else \
            base[1].value[part]
    except Exception:
        return None
    return ("object", _Held(value)) if isinstance(
        value, _CONTAINERS) or hasattr(value, "__dict__") else None


class _Held:
    """An object in a holder's key: equal to another only if the same."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return self.value is other.value

    def __hash__(self):
        return id(self.value)


def _same_holder(stored, read):
    """Is the container `read` the one `stored` (or does one hold the
    other, for containers reached from a parameter)?"""
    if stored[0] != read[0]:
        return False
    if stored[0] == "object":
        return stored[1] == read[1]
    shorter = min(len(stored), len(read))
    return stored[:shorter] == read[:shorter]


def _read_back(func, read, operand, key, store):
    if isinstance(operand, ssa.Free):
        what = f"`{operand!r}`"
    elif isinstance(operand, str):  # (through a method or a function)
        what = operand
    elif operand is None:
        what = "a list, dict or set that is not the function's own"
    elif key[0] == "parameter":  # (`self.history`, `state["log"]`)
        what = f"`{key[1]}" + "".join(
            f".{p}" if isinstance(p, str) and p.isidentifier() else
            f"[{p!r}]" for p in key[2:]) + "`"
    else:
        what = "a list, dict or set"
    return func.source.error(
        errors.UnsupportedSyntaxError, _located(func, read),
        f"{what} is read here after line {func.source.lineno(store.node)} "
        "put a value computed from the differentiated inputs into it (it "
        "is a module-level value, a closure's or an object's, read here or "
        "by a function called here), and s2sad reads such a container as "
        "constant data, so the derivative through it would be lost: keep "
        "the values in a local list (`values = []`, `values.append(v)`) and "
        "read that, or pass the values to the function that needs them")


def _located(func, stmt):
    """The user's node of `stmt`, or of the first statement after it that
    has one (what a comprehension's loop reads has none: its element's
    statement does)."""
    stmts = list(ssa.walk(func.body))
    for later in stmts[stmts.index(stmt):]:
        if getattr(later, "node", None) is not None and \
                func.source.lineno(later.node):
            return later.node
    return stmt.node


def touched_by(fn, depth=0):
    """(stores, reads): the lists, dicts and sets not its own that `fn`, a
    function or method of the user's (or those it calls, a few levels
    deep), puts values into, and reads, as its text shows: module-level
    ones, a closure's, its object's (`self.values.append(v)` of a bound
    method). Empty for anything else. (Kept per function and object.)"""
    self_obj = getattr(fn, "__self__", None)
    func = getattr(fn, "__func__", fn)
    module = getattr(func, "__module__", None) or ""
    if not inspect.isfunction(func) or depth > 3 or module.split(".")[0] in (
            "numpy", "scipy", "s2sad") or registry.lookup(func) is not None:
        return (), ()
    key = (func.__code__, id(self_obj), id(func.__closure__))
    kept = _TOUCHED.get(key)
    if kept is not None and kept[0]() is func and (
            self_obj is None or kept[1]() is self_obj):
        return kept[2]  # (the same function and object, not others with
        # their ids: the entry holds them weakly)
    try:
        refs = (weakref.ref(func), weakref.ref(self_obj) if self_obj
                is not None else None)
    except TypeError:  # (an object that takes no weak reference)
        refs = None
    if refs is not None:
        _TOUCHED[key] = refs + (((), ()),)  # (a recursion: nothing more)
    try:
        source = frontend.parse(func)
    except errors.S2SADError:
        return (), ()
    args = source.tree.args
    names = [a.id for a in args.posonlyargs + args.args]
    local = {n.id for n in trees.walk(source.tree)
             if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    local |= {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}

    def resolve(node):
        path = trees.dotted(node)
        if path is None:
            return None
        if self_obj is not None and names and path[0] == names[0]:
            value = self_obj
            for attr in path[1:]:
                value = getattr(value, attr, None)
            return value
        if path[0] in local:
            return None
        value = source.resolve_path(path)
        return None if frontend.is_missing(value) else value

    stores, reads, receivers = [], [], set()
    for node in trees.walk(source.tree):
        if not isinstance(node, gast.Call):
            continue
        if isinstance(node.func, gast.Attribute) and node.func.attr in \
                STORING:
            owner = resolve(node.func.value)
            if isinstance(owner, _CONTAINERS):
                stores.append(owner)
                receivers.add(id(node.func.value))
                continue
        callee = resolve(node.func)
        if callee is not None and callee is not fn:
            more = touched_by(callee, depth + 1)
            stores += more[0]
            reads += more[1]
    for node in trees.walk(source.tree):
        if isinstance(node, (gast.Name, gast.Attribute)) and isinstance(
                node.ctx, gast.Load) and id(node) not in receivers:
            value = resolve(node)
            if isinstance(value, _CONTAINERS):
                reads.append(value)
    if len(_TOUCHED) > 4096:
        _TOUCHED.clear()
    if refs is not None:
        _TOUCHED[key] = refs + ((stores, reads),)
    return stores, reads


_TOUCHED = {}  # (code, ids of the bound object, cells) -> (weak
# references to the function and object, touched_by)


def maybe_containers(func):
    """Parameters whose value may be a tuple, list or dict (a pytree): those
    the function indexes, or passes whole to user code or to a function
    that takes sequences. Their gradients are given back in the argument's
    structure (runtime.tree_like)."""
    found = set()
    params = set(func.params) | {func.vararg}
    for stmt in ssa.walk(func.body):
        if not isinstance(stmt, ssa.Assign) or stmt.fn is ssa.identity:
            continue
        rule = rule_of(stmt)
        if rule is None or rule.sequences:
            found |= {o.name for o in stmt.operands()
                      if isinstance(o, ssa.Var) and o.name in params}
    return found


def is_scalar(operand, scalars):
    """Is `operand` rank 0: a number constant, a global that holds a number
    (`A = 4.0`, `LOG2PI = np.log(2 * np.pi)` at module level: the
    derivative's guard checks on each call that it still holds one of its
    type, see `derive`) or a name in `scalars`?"""
    if isinstance(operand, (ssa.Const, ssa.Free)):
        return type(operand.value) in (int, float) or isinstance(
            operand.value, (np.floating, np.integer))
    return isinstance(operand, ssa.Var) and operand.name in scalars


def _scalar_result(stmt, scalars, ranges):
    """Does `stmt` give a rank-0 value when the names in `scalars` are?"""
    if isinstance(stmt, ssa.For):
        return isinstance(stmt.iter, ssa.Var) and stmt.iter.name in ranges
    if getattr(stmt.fn, "__module__", None) == "math" and stmt.fn not in (
            math.prod,) or stmt.fn in (float, int, len):
        return True  # (math.prod of arrays is an array)
    if is_total(stmt):
        return True  # (a NumPy number or 0-d array)
    if stmt.fn in _NUMBERS_OF_NUMBERS:  # (a gradient's 1 of a number, ...)
        return all(is_scalar(a, scalars) for a in stmt.operands()
                   if not isinstance(getattr(a, "value", None), str))
    rule = rule_of(stmt)
    elementwise = stmt.fn is ssa.identity or stmt.fn in ON_NUMBERS or \
        isinstance(stmt.fn, np.ufunc) or (
            rule is not None and rule.partials is not None)
    return elementwise and all(is_scalar(a, scalars) for a in stmt.operands())


def may_make_ints(func):
    """Can `func`, given floats, hold an int in a variable (`k = 2`,
    `n = len(xs)`, `i` of a range, `math.floor(x)`, arithmetic of those)?
    A derivative may then be that int: `d(n * x)/dx` is n. (Int constants
    written inline are floats in derivative code: the optimiser makes them
    so; a global int is not.)"""
    if any(isinstance(o, ssa.Free) and type(o.value) is int
           for s in ssa.walk(func.body) if isinstance(s, ssa.Assign)
           for o in s.operands()):
        return True  # a global int: `N * x`
    ints = set()
    changed = True
    while changed:
        changed = False
        for stmt in ssa.walk(func.body):
            if isinstance(stmt, ssa.For) and stmt.target not in ints:
                ints.add(stmt.target)  # over range, or items of a list
                changed = True
            if not isinstance(stmt, ssa.Assign) or stmt.target is None \
                    or stmt.target in ints:
                continue
            operands = [o for o in stmt.args if not isinstance(o, ssa.Free)]
            integral = all(
                isinstance(o, ssa.Var) and o.name in ints or isinstance(
                    o, ssa.Const) and isinstance(o.value, int)
                for o in operands)
            if stmt.fn in _MAKE_INTS or operands and integral and (
                    stmt.fn is ssa.identity or stmt.fn in _KEEP_INTS):
                ints.add(stmt.target)
                changed = True
    return bool(ints)


_MAKE_INTS = {len, int, round, math.floor, math.ceil, math.trunc,
              math.factorial, math.comb, math.perm, math.isqrt, math.gcd}
_KEEP_INTS = {operator.add, operator.sub, operator.mul, operator.pow,
              operator.mod, operator.floordiv, operator.neg, operator.pos,
              abs, max, min, sum}


def may_make_numpy_floats(func):
    """Can a derivative of `func`, given floats, be a NumPy float rather
    than a Python float? Only operators and the `math` functions of one
    number are known to keep Python floats (their rules are written in
    them); a NumPy function, a method or a helper may not (np.cos(2.0) is
    an np.float64), and nor does a module-level NumPy number or 0-d array
    read (`K = np.float32(2.0)`: K * x is an np.float32)."""
    return any(isinstance(s, ssa.Assign) and (s.fn is not ssa.identity and (
        getattr(s.fn, "__module__", None) not in ("_operator", "math")
        or s.fn in _MATH_OF_SEQUENCES) or any(
            isinstance(a, ssa.Free) and (isinstance(a.value, np.generic) or
                                         getattr(a.value, "ndim", None) == 0)
            for a in s.args))
        for s in ssa.walk(func.body))


# (their derivatives are NumPy functions of the sequence)
_MATH_OF_SEQUENCES = {math.hypot, math.dist, math.fsum, math.prod} | (
    {math.sumprod} if hasattr(math, "sumprod") else set())


def may_make_complex(func):
    """Can `func`, given floats, make a complex number? Only `**` with an
    exponent that is not a whole-number constant can (a negative base)."""
    return any(isinstance(s, ssa.Assign) and s.fn in (
        operator.pow, runtime.ipow) and not (
            isinstance(s.args[1], ssa.Const)
            and float(s.args[1].value).is_integer())
        for s in ssa.walk(func.body))


_INT_ARITHMETIC = {operator.add, operator.sub, operator.mul,
                   operator.floordiv, operator.mod, operator.neg}


class Vector(str):
    """A parameter taken to be a 1-D float array (the caller guards this,
    `runtime.is_vector`): its items at int indices are numbers."""

    @property
    def name(self):
        return str(self)


class Reals(Vector):
    """A `Vector` of data, not differentiated, whose items may be ints too
    (counts, `[3, 1, 4]`, an int array): the caller guards this,
    `runtime.is_real_vector`; its items are numbers, not known floats."""


class Number(str):
    """A parameter taken to be a number, Python's or NumPy's (the caller
    guards this, `runtime.is_number`), that only decides branches (see
    `deciding_only`): a test on it reads nothing an array would compute."""

    @property
    def name(self):
        return str(self)


class Real(Number):
    """A parameter not differentiated that a float variant takes to be a
    real number, a Python int or float (or NumPy's int64 or float64: the
    guard checks this, `runtime.is_real`), as what it computes from it
    reaches the derivative: a step `h = T / n` of a step count."""


def real_numbers(func, params, needed, assume=()):
    """Which of `params` to take for real numbers (`Real`) in a float
    variant: those whose values reach the names `needed` (the operands of
    the derivative's statements) through what gives numbers of numbers
    (arithmetic, `math`), each of whose reads then gives a number or a
    range (`range(n)`) or is a test, given the parameters `assume`."""
    sources = {}  # name -> the names its statement reads
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None:
            sources[stmt.target] = [o.name for o in stmt.operands()
                                    if isinstance(o, ssa.Var)]
    reaching, todo = set(needed), list(needed)
    while todo:
        for name in sources.get(todo.pop(), ()):
            if name not in reaching:
                reaching.add(name)
                todo.append(name)
    taken = {p for p in params if p in reaching}
    while taken:
        scalars = known_scalars(func, tuple(assume) + tuple(
            Number(p) for p in taken))
        dropped = set()
        for stmt in ssa.walk(func.body):
            if isinstance(stmt, ssa.Assign):
                if stmt.target in scalars or stmt.fn is range and \
                        not stmt.kwargs:
                    continue
                dropped |= {o.name for o in stmt.operands()
                            if isinstance(o, ssa.Var) and o.name in taken}
            elif not isinstance(stmt, (ssa.If, ssa.While)):
                dropped |= {o.name for o in (getattr(stmt, "iter", None),
                                             getattr(stmt, "value", None))
                            if isinstance(o, ssa.Var) and o.name in taken}
        if not dropped:
            break
        taken -= dropped
    return tuple(Real(p) for p in params if p in taken)


def deciding_only(func, param):
    """Is `param` read only by arithmetic and comparisons whose values
    reach nothing but the tests of `if`s and `while`s (`if t > t_stop:`)?"""
    reached = flows_from(func, {param})
    tested = False
    for stmt in ssa.walk(func.body):
        if not reads(stmt, reached):
            continue
        if isinstance(stmt, (ssa.If, ssa.While)):
            tested = True
        elif not isinstance(stmt, ssa.Assign) or stmt.target is None or \
                stmt.kwargs or stmt.spreads() or getattr(
                    stmt.fn, "__module__", None) not in ("_operator",
                                                         "operator"):
            return False  # (a `for` over it, its return, another call)
    return tested


def _ranges(func):
    """The names holding ranges: `range(...)`, and what a `for` with a
    `break` iterates of one, `runtime.iterable(r)`."""
    ranges = set()
    for s in ssa.walk(func.body):
        if isinstance(s, ssa.Assign) and (s.fn is range or s.fn is
                                          runtime.iterable and getattr(
                                              s.args[0], "name", None)
                                          in ranges):
            ranges.add(s.target)
    return ranges


def numbers_in_arrays(func, params, vectors=()):
    """Which of `params` to take for numbers in a variant on arrays (its
    guard checks them, `runtime.is_number`): those each of whose reads
    gives a number when they all are (arithmetic and `math` of numbers: a
    rate, a spring constant, an initial value), or writes one into an
    array (`traj[i] = x`), or fills one (`np.full(n, s0)`). Not one read
    with an array (`w * X`, `X @ w`), indexed, iterated or reduced, which
    may be an array itself. (`vectors`: the `Vector`s the guard checks
    too, whose items are numbers: `w * x` of `for x in xs` is one.)"""
    taken = set(params)
    while taken:
        scalars = known_scalars(func, tuple(taken) + tuple(vectors))
        dropped = set()
        for stmt in ssa.walk(func.body):
            if not isinstance(stmt, ssa.Assign):
                iterated = getattr(stmt, "iter", None)
                if isinstance(iterated, ssa.Var) and iterated.name in taken:
                    dropped.add(iterated.name)
                continue
            for k, operand in enumerate(stmt.args):
                if not isinstance(operand, ssa.Var) or \
                        operand.name not in taken:
                    continue
                if stmt.target is not None and stmt.target in scalars or \
                        stmt.fn in _WRITES and k == 2 or \
                        stmt.fn is np.full and k == 1:
                    continue
                dropped.add(operand.name)
            for _, operand in stmt.kwargs:
                if isinstance(operand, ssa.Var) and operand.name in taken:
                    dropped.add(operand.name)
        if not dropped:
            break
        taken -= dropped
    return tuple(p for p in params if p in taken)


def indexed_only(func, param, iterated=True):
    """Is `param` read only as `param[i]`, i an int (a loop variable over a
    range, an int constant, int arithmetic of them: `ys[t - 1]`, a `while`
    loop's counter), by unpacking (`a, b = params`), by `len` and `.shape`
    (its metadata), by a total (`np.var(r)`: a number) and as a slice of
    the same kind (`obs[1:]`): items of a time series read in a scalar
    loop, or of a parameter vector, which are numbers when it is a 1-D
    float array (or a list of floats)? With `iterated`, also by a `for`
    over it (`for c in counts`)."""
    return _items_read(func, param, iterated, _int_indices(func)) is True


def _items_read(func, param, iterated, ints):
    """`indexed_only`'s walk: None when `param` is read otherwise, else
    whether an item is read (a copy read only for its length reads
    none)."""
    found = False
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign):
            operands = stmt.operands()
        elif isinstance(stmt, ssa.Return):
            operands = [stmt.value]
        else:
            operands = [getattr(stmt, "test", None), getattr(
                stmt, "iter", None)] + [o for p in getattr(stmt, "phis", ())
                                        for o in (p.left, p.right)]
        if not any(_is_named(o, param) for o in operands):
            continue
        if not isinstance(stmt, ssa.Assign):
            return None
        if (iterated and stmt.fn is runtime.iterable or
                stmt.fn is ssa.identity) and len(stmt.args) == 1 and \
                not stmt.kwargs and stmt.target is not None:
            # (`for v in xs`: its items, read as `_t1[_k]`; a copy, `L =
            # ARM.lengths`, read so)
            read = _items_read(func, stmt.target, iterated, ints)
            if read is None:
                return None
            found = found or read or stmt.fn is runtime.iterable
            continue
        if stmt.fn is len and len(stmt.args) == 1 or stmt.fn is getattr \
                and isinstance(stmt.args[1], ssa.Const) and \
                stmt.args[1].value in ssa.METADATA or \
                stmt.fn is runtime.check_unpacking:  # (`a, b = params`)
            continue
        if is_total(stmt):
            continue  # (`s2 = np.var(r)`: a number, of a vector)
        if _is_vector_slice(stmt) and _is_named(stmt.args[0], param):
            # (`for z in obs[1:]`: a slice of a vector is one)
            if _items_read(func, stmt.target, iterated, ints) is not True:
                return None
            found = True
            continue
        index = stmt.args[1] if stmt.fn is operator.getitem else None
        if not (stmt.args and _is_named(stmt.args[0], param) and (
                isinstance(index, ssa.Var) and index.name in ints
                or isinstance(index, ssa.Const) and type(index.value) is int)):
            return None
        found = True
    return found


def _int_indices(func):
    """Names that hold ints whatever the inputs: a loop variable over a
    range, int arithmetic of those and of int constants (`t - 1`), and a
    counter a `while` loop steps (`i = 1`, ..., `i += 1`), joined as
    such."""
    ranges = _ranges(func)
    ints = {s.target for s in ssa.walk(func.body)
            if isinstance(s, ssa.For) and isinstance(s.iter, ssa.Var)
            and s.iter.name in ranges}
    made = {}  # the other candidates -> their operands
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None and (
                stmt.fn in _INT_STEPS and stmt.args and not stmt.kwargs
                and not stmt.spreads()):
            made[stmt.target] = stmt.args
        elif isinstance(stmt, ssa.Assign) and stmt.fn is operator.getitem \
                and len(stmt.args) == 2 and isinstance(stmt.args[0], ssa.Var) \
                and stmt.args[0].name in ranges:  # (an item of a range)
            made[stmt.target] = stmt.args[1:]
        for phi in getattr(stmt, "phis", ()):
            made[phi.target] = (phi.left, phi.right)
    changed = True
    while changed:  # (the largest set that holds: a loop's counter)
        changed = False
        for name, operands in list(made.items()):
            if not all(isinstance(o, ssa.Var) and (
                    o.name in ints or o.name in made) or isinstance(
                        o, ssa.Const) and type(o.value) is int
                       for o in operands):
                del made[name]
                changed = True
    return ints | set(made)


# int arithmetic (of ints: an int), copies, and updates `i += 1`
_INT_STEPS = _INT_ARITHMETIC | {ssa.identity, runtime.iadd, runtime.isub,
                                runtime.imul, operator.iadd, operator.isub,
                                operator.imul}


def _iterated_vectors(func, vectors):
    """`vectors` (names of `Vector`s), their copies, and what a `for` over
    one iterates, `runtime.iterable(v)`: the same array; and their slices
    with constant bounds, `v[1:]`: vectors too."""
    vectors = set(vectors)
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and (
                stmt.fn in (runtime.iterable, ssa.identity) or
                _is_vector_slice(stmt)) and \
                any(_is_named(stmt.args[0], v) for v in list(vectors)):
            vectors.add(stmt.target)
    return vectors


def _is_vector_slice(stmt):
    """Is `stmt` `t = v[a:b:c]` with int (or no) bounds: of a 1-D array, a
    list or a tuple, one of the same kind?"""
    index = stmt.args[1] if isinstance(stmt, ssa.Assign) and \
        stmt.fn is operator.getitem and len(stmt.args) == 2 else None
    return isinstance(index, ssa.Const) and index.value.__class__ is slice \
        and stmt.target is not None and all(
            part is None or part.__class__ is int for part in (
                index.value.start, index.value.stop, index.value.step))


def _is_named(operand, name):
    """Is `operand` the variable `name`, or the global of that name (or
    dotted name, `ARM.lengths`)?"""
    if isinstance(operand, ssa.Free):
        path = trees.dotted(operand.expr)
        return path is not None and ".".join(path) == name
    return isinstance(operand, ssa.Var) and operand.name == name


def global_vectors(func, lists=False):
    """The module-level (or closure) 1-D float arrays the function reads
    only at int indices, as `indexed_only` says of a parameter: their
    items are numbers, while they hold such arrays (which the caller
    guards, `runtime.is_vector`). With `lists`, also the lists and tuples
    of floats read so, and those that are attributes of module-level
    objects (`ARM.lengths`, a robot arm's), held as the function reads
    them; with ints among their items too, as `Reals`."""
    names = {}  # dotted name -> are its items floats?
    for stmt in ssa.walk(func.body):
        if not isinstance(stmt, ssa.Assign):
            continue
        for o in stmt.operands():
            path = trees.dotted(o.expr) if isinstance(o, ssa.Free) else None
            if path is None or len(path) > 1 and not lists:
                continue
            value = o.value
            if isinstance(value, np.ndarray) and value.ndim == 1 and \
                    value.dtype.kind == "f" or lists and (
                        type(value) in (list, tuple) and value or
                        isinstance(value, np.ndarray)) and \
                    runtime.is_real_vector(value):
                names[".".join(path)] = runtime.is_vector(value)
    # (one of floats, as the guard checks then: a list of counts may be
    # given floats too)
    return tuple((Vector if floats or not lists else Reals)(name)
                 for name, floats in sorted(names.items())
                 if indexed_only(func, name))


def known_scalars(func, assume=(), partial_phis=False):
    """Names that hold rank-0 values (numbers, 0-d results) on every run.

    Args:
        assume: parameters taken to be numbers, and `Vector`s (the caller
            guards this).
        partial_phis: a join with an undefined side holds the number of
            its other side (a value of generated code defined in one
            branch, read only in that branch of the backward sweep; in the
            user's code, it may be returned as None).

    The greatest fixpoint: every definition starts as a candidate and is
    dropped when its operands are not all rank 0, so loop-carried values
    that stay numbers are found.
    """
    ranges = _ranges(func)
    shapes = {s.target for s in ssa.walk(func.body)
              if isinstance(s, ssa.Assign) and _reads_attribute(s, "shape")}
    defs = []  # (name, test)
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None:
            defs.append((stmt.target, stmt))
        elif isinstance(stmt, ssa.For):
            defs.append((stmt.target, stmt))
        if isinstance(stmt, (ssa.If, ssa.For, ssa.While)):
            defs += [(phi.target, phi) for phi in stmt.phis]
    vectors = _iterated_vectors(func, {p for p in assume
                                       if isinstance(p, Vector)})
    scalars = {str(p) for p in assume if not isinstance(p, Vector)} | {
        name for name, _ in defs}
    # (and the lists the function makes of numbers only, whose items are)
    lists = {name for name, node in defs if isinstance(node, ssa.Phi) or
             isinstance(node, ssa.Assign) and node.fn in _NUMBER_LISTS}
    changed = True
    while changed:
        changed = False
        for name, node in defs:
            if name in lists and not _number_list(node, lists, scalars,
                                                  vectors):
                lists.discard(name)
                changed = True
            if name not in scalars:
                continue
            if isinstance(node, ssa.Phi):
                ok = all(partial_phis and isinstance(o, ssa.Undefined) or
                         is_scalar(o, scalars)
                         for o in (node.left, node.right))
            elif isinstance(node, ssa.Assign) and \
                    node.fn is operator.getitem and any(
                        _is_named(node.args[0], v) for v in vectors):
                ok = True  # an item (its index: see `indexed_only`)
            elif isinstance(node, ssa.Assign) and node.fn in (
                    operator.getitem, sum) and node.args and isinstance(
                        node.args[0], ssa.Var) and node.args[0].name in \
                    lists and not node.kwargs:
                # an item of a list of numbers (at an int: a slice is no
                # number), their sum
                ok = all(is_scalar(o, scalars) for o in node.args[1:])
            elif isinstance(node, ssa.Assign) and \
                    node.fn is operator.getitem and isinstance(
                    node.args[0], ssa.Var) and node.args[0].name in ranges:
                ok = is_scalar(node.args[1], scalars)  # an int of a range
            elif isinstance(node, ssa.Assign) and (any(
                    _reads_attribute(node, a) for a in ("size", "ndim")) or
                    node.fn is operator.getitem and isinstance(
                        node.args[0], ssa.Var) and node.args[0].name in
                    shapes and isinstance(node.args[1], ssa.Const) and
                    type(node.args[1].value) is int):
                ok = True  # an array's size, ndim or length along an axis
            else:
                ok = _scalar_result(node, scalars, ranges)
            if not ok:
                scalars.discard(name)
                changed = True
    return scalars


def _number_list(node, lists, scalars, vectors):
    """Does the definition `node` give a list of numbers when `lists` are
    and `scalars` numbers (a literal of numbers, appended a number, a
    number written into one, a copy, a join, what a `for` iterates)?"""
    if isinstance(node, ssa.Phi):
        return all(isinstance(o, ssa.Var) and o.name in lists
                   for o in (node.left, node.right))
    if node.spreads() or node.kwargs:
        return False
    if node.fn is ssa.make_list:
        return all(is_scalar(o, scalars) for o in node.args)
    first = node.args[0] if node.args else None
    held = isinstance(first, ssa.Var) and first.name in lists
    if node.fn is runtime.iterable:
        return held or any(_is_named(first, v) for v in vectors)
    if node.fn in (ssa.identity, list):
        return held and len(node.args) == 1
    if node.fn in _APPENDS:
        return held and is_scalar(node.args[1], scalars)
    return held and len(node.args) == 3 and all(  # (`xs[i] = v`)
        is_scalar(o, scalars) for o in node.args[1:])


_APPENDS = {runtime.appended, runtime.appended_owned,
            runtime.appended_in_place}
_NUMBER_LISTS = _APPENDS | {
    ssa.make_list, runtime.iterable, ssa.identity, list, runtime.setitem,
    runtime.setitem_owned}


def is_total(stmt):
    """Is `stmt` a total reduction, `np.sum(x)` (of all items: one
    argument)?"""
    return stmt.fn in _TOTALS and len(stmt.args) == 1 and not stmt.kwargs


def _reads_attribute(stmt, name):
    """Is `stmt` `x.name`?"""
    return stmt.fn is getattr and len(stmt.args) == 2 and isinstance(
        stmt.args[1], ssa.Const) and stmt.args[1].value == name


def uses_complex(func, real_inputs=False):
    """Does the function make complex values (a complex literal, or a call
    such as np.fft.fft)? Its reverse sweep then takes the real part of every
    adjoint flowing into a real value (see runtime.unbroadcast). With
    `real_inputs` (a variant on floats), `np.real(x)` and the like, which
    make reals of reals (a derivative of `abs` has it), do not count."""
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign):
            if any(isinstance(o, ssa.Const) and isinstance(o.value, complex)
                   for o in stmt.operands()):
                return True
            rule = rule_of(stmt)
            if stmt.fn is complex or (rule is not None and rule.makes_complex
                                      and not (real_inputs and stmt.fn in
                                               _REAL_OF_REAL)):
                return True
    return False


_REAL_OF_REAL = {np.real, np.imag, np.conj, np.conjugate, np.real_if_close}


def is_elementwise_program(func, active_names, tuples=(), identities=()):
    """Do all active statements use elementwise rules (or copies, or make
    one of the tuples named `tuples`, or call one of `identities`)?"""
    return not_elementwise(func, active_names, tuples, identities) is None


def not_elementwise(func, active_names, tuples=(), identities=()):
    """The first active statement that uses no elementwise rule and is no
    copy (nor makes one of `tuples`, nor calls one of `identities`, nor,
    with those, has a zero derivative), or None."""
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target in active_names:
            rule = rule_of(stmt)
            if stmt.fn is not ssa.identity and (
                    rule is None or rule.partials is None) and not (
                    stmt.fn is ssa.make_tuple and stmt.target in tuples
                    or stmt.fn in identities or identities and
                    rule is not None and not rule.differentiable):
                return stmt
    return None


# the helpers of generated code that give their first argument back when
# all their arguments are real numbers (as a float, `runtime.gradient`): a
# derivative of a derivative calls them
NUMBER_IDENTITIES = {runtime.broadcast_like, runtime.unbroadcast,
                     runtime.unbroadcast_to, runtime.as_kind_of,
                     runtime.gradient, runtime.array_of, np.real, np.conj,
                     np.conjugate}
# what gives numbers of numbers, though no elementwise rule: the seed of
# generated code (the 1 of a gradient), its zeros, a partial of `max`,
# tests, and the operators on ints
_NUMBERS_OF_NUMBERS = {
    runtime.seed, runtime.zero_tangent, runtime.zeros_like,
    runtime.balanced_max_partial, bool, operator.eq, operator.ne,
    operator.lt, operator.le, operator.gt, operator.ge, operator.is_,
    operator.is_not, operator.not_, operator.floordiv, np.floor_divide,
    operator.invert, operator.and_, operator.or_, operator.xor,
    operator.lshift, operator.rshift, runtime.ifloordiv, runtime.iand,
    runtime.ior, runtime.ixor, runtime.ilshift, runtime.irshift}
# the helpers of generated code whose derivative is zero on real numbers
# (not on complex ones): the sign a derivative of `abs` multiplies by
ZERO_ON_REALS = {runtime.sign}
# what code on numbers may call besides elementwise functions: those, and
# `np.where(c, a, b)`, `a if c else b` (as a derivative of `np.maximum`
# has it)
ON_NUMBERS = NUMBER_IDENTITIES | ZERO_ON_REALS | {np.where}


# -- shapes --

SCALAR_SHAPE = ("rank 0",)

# arithmetic that is elementwise whatever its operands (or raises): a Python
# list or tuple has no `-`, `/`, `**` or unary minus
_ELEMENTWISE = {operator.sub, operator.truediv, operator.pow, operator.neg,
                operator.pos, operator.isub, operator.itruediv,
                operator.ipow, runtime.isub, runtime.itruediv, runtime.ipow}
# elementwise only when an operand is not a list or tuple (which `+` joins
# and an int `*` repeats)
JOINING = {operator.add, operator.mul, operator.iadd, operator.imul,
           runtime.iadd, runtime.imul}
_COPIES = {np.copy, np.array, np.asarray, np.zeros_like, np.ones_like,
           np.empty_like, np.full_like}
# reductions to a number when given no axis (as methods: of an array)
_TOTALS = {np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin,
           np.std, np.var, np.median, np.average, np.nansum, np.nanmean}
_TOTAL_METHODS = {"sum", "mean", "prod", "max", "min", "std", "var"}
# elementwise rules that reduce when given one argument (max(xs)), or give
# a number
_NOT_ELEMENTWISE = {max, min, float}
_WRITES = {runtime.setitem, runtime.setitem_owned, runtime.setitem_in_place}


def elementwise_leaves(func, arrays):
    """Map each SSA name to its leaves: the names it is computed from by
    elementwise arithmetic and elementwise functions alone, and by items
    and copies of `arrays` (names holding no list: see `shape_keys`);
    itself when it is made otherwise (a parameter, a product `a @ b`, a
    loop's value). Number constants are no leaves: NumPy gives `2.0 * x`
    x's dtype, so a value's dtype is that of its leaves together; a value
    whose leaves include another's has at least that one's dtype."""
    made = definitions(func)
    found = {}

    def leaves(name):
        if name not in found:
            found[name] = {name}  # (until known: a cycle ends here)
            stmt = made.get(name)
            if stmt is None or stmt.kwargs or stmt.spreads():
                pass
            elif stmt.fn not in _TO_REAL and (stmt.fn is ssa.identity or
                                              is_elementwise(stmt)):
                found[name] = set().union(*map(_leaves_of, stmt.operands()))
            elif (stmt.fn is operator.getitem or stmt.fn is np.copy or
                  stmt.fn is ssa.method("copy")) and (holds(
                      arrays, stmt.args[0]) or _is_slicing(stmt)):
                found[name] = _leaves_of(stmt.args[0])  # (of its dtype)
        return found[name]

    def _leaves_of(operand):
        if isinstance(operand, ssa.Var):
            return leaves(operand.name)
        if type(operand.value) in (int, float, bool):
            return set()
        return {repr(operand)}  # (a complex number, a global array)
    return leaves


def items_meet_arithmetic_only(func, param):
    """Do the items of `param` (read at int indices: see `indexed_only`)
    and what is computed from them go only into elementwise operations
    (numbers, as in a time series: `y[t] - a * y[t - 1]`), never into a
    reduction, product or index (`np.sum(X[i] - X[j])`: rows of a
    matrix)?"""
    derived = set()
    changed = True
    while changed:
        changed = False
        for stmt in ssa.walk(func.body):
            if not isinstance(stmt, ssa.Assign) or stmt.target is None or \
                    stmt.target in derived:
                continue
            operands = {o.name for o in stmt.operands()
                        if isinstance(o, ssa.Var)}
            if stmt.fn is operator.getitem and stmt.args[0] == ssa.Var(
                    param) or operands & derived and (
                        stmt.fn is ssa.identity or is_elementwise(stmt)):
                derived.add(stmt.target)
                changed = True
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and {
                o.name for o in stmt.operands()
                if isinstance(o, ssa.Var)} & derived and not (
                    stmt.target in derived or stmt.fn in _WRITES):
            return False
    return True


def _is_slicing(stmt):
    """Is `stmt` `x[a:b]` or `x[a:b, c:d]`, slices of x (of an array, or
    items of a list that, taken for an array, have x's dtype)?"""
    value = getattr(stmt.args[1], "value", None) if stmt.fn is \
        operator.getitem else None
    parts = value if isinstance(value, tuple) else (value,)
    return all(isinstance(part, slice) for part in parts)


def is_elementwise(stmt):
    """Is `stmt` elementwise arithmetic or an elementwise function (a rule
    with partials; `+` and `*` too, which on lists the derivative code
    refuses)?"""
    if stmt.fn in _NOT_ELEMENTWISE:
        return False
    rule = rule_of(stmt)
    return stmt.fn in _ELEMENTWISE or stmt.fn in JOINING or (
        rule is not None and rule.partials is not None)


# elementwise functions that make a complex value real (not of the dtype
# of their operand)
_TO_REAL = {abs, np.abs, np.real, np.imag, np.angle}


def shape_keys(func, scalars, known_arrays=()):
    """(keys, arrays, floats, ints): `keys` maps SSA names to shape keys: names with
    equal keys hold values of one shape (as np.shape gives it) on every run
    that reaches them, so an adjoint passed from one to the other needs no
    unbroadcasting. `arrays` holds the names known to hold no Python list or
    tuple (which `+` joins and an int `*` repeats: not elementwise), and
    `floats` those known to hold no int or bool either (a float, a complex
    number, a NumPy value): what `*` never repeats a list by. `ints`: the
    targets of loops over ranges (`range_ints`). `known_arrays`: the
    parameters known to hold NumPy arrays (a variant's guard checks it).

    Shapes are equal through elementwise arithmetic and functions of
    values of one shape (numbers aside), copies, element and slice writes,
    and slices of one value that leave as many items on each axis:
    `x[1:]` and `x[:-1]` leave n - 1 whatever n is. A name without a key
    has a shape known only at run time, equal to no other's.
    """
    ints = range_ints(func)
    # (filled by `block` below) keys; names holding no Python list or
    # tuple (see JOINING); names holding no int or bool either
    keys, arrays, floats, loops = {}, set(), set(), []

    def key(operand):
        if is_scalar(operand, scalars):
            return SCALAR_SHAPE
        if isinstance(operand, ssa.Var):  # (at least: equal to itself)
            return keys.get(operand.name, ("name", operand.name))
        return None

    def not_sequence(operand):
        return holds(arrays, operand)

    def assign(stmt):
        fn, args = stmt.fn, stmt.args
        if _gives_no_int(stmt, floats):
            floats.add(stmt.target)
        found = None
        if stmt.target in scalars:
            found = SCALAR_SHAPE  # (float(x) of a one-item x, max(xs))
        elif _keeps_dims(stmt, not_sequence):
            # a reduction's result with its axes kept as length 1: it
            # broadcasts against its operand to the operand's shape
            found = ("kept", key(args[0]))
            arrays.add(stmt.target)
        elif stmt.kwargs or stmt.spreads() or fn in _NOT_ELEMENTWISE:
            pass
        elif len(args) == 1 and (fn in _TOTALS or isinstance(
                fn, ssa.Method) and fn.name in _TOTAL_METHODS and
                not_sequence(args[0])):
            found = SCALAR_SHAPE  # (no axis: a number)
            if fn in _TOTALS:
                arrays.add(stmt.target)  # (NumPy's: no list)
        elif fn is ssa.identity:
            found = key(args[0])
            if not_sequence(args[0]):
                arrays.add(stmt.target)
        elif fn is operator.getitem:
            found = item_key(key(args[0]), args[1], ints,
                             not_sequence(args[0]))
            value = getattr(args[1], "value", None)
            if not_sequence(args[0]) or isinstance(value, tuple) and all(
                    isinstance(part, slice) for part in value):
                arrays.add(stmt.target)  # (a list refuses a tuple index)
        elif fn in _WRITES or fn in _COPIES or fn is ssa.method("copy"):
            value = getattr(args[1], "value", None) if fn in _WRITES \
                else None
            if fn in _WRITES and not not_sequence(args[0]) and not (
                    isinstance(value, tuple) and all(
                        isinstance(part, slice) for part in value)):
                return  # an item of a list written may have another shape
                # (as np.shape sees the list); a slice, another length
            found = key(args[0])
            if fn in _COPIES or not_sequence(args[0]):
                arrays.add(stmt.target)
        elif is_elementwise(stmt):
            if fn in JOINING and not any(map(not_sequence, args)) and \
                    len(set(args)) > 1:  # (xs * xs raises)
                return
            arrays.add(stmt.target)
            # (a rank-0 value broadcasts to any shape: `x - np.mean(x)`)
            found = {key(o) for o in args} - {SCALAR_SHAPE}
            # (x - x.max(axis=1, keepdims=True) has x's shape)
            found -= {("kept", k) for k in found}
            found = found.pop() if len(found) == 1 else (
                SCALAR_SHAPE if not found else None)
        if found is not None:
            keys[stmt.target] = found
        if stmt.target in floats:
            arrays.add(stmt.target)

    def joins(kind, *values):
        """Are all `values` (a phi's sides) in `kind` (arrays or floats)?"""
        return all(holds(kind, o) for o in values)

    def block(stmts):
        for stmt in stmts:
            if isinstance(stmt, ssa.Assign) and stmt.target is not None:
                assign(stmt)
            elif isinstance(stmt, ssa.If):
                block(stmt.body)
                block(stmt.orelse)
                for phi in stmt.phis:
                    left, right = key(phi.left), key(phi.right)
                    if left is not None and left == right:
                        keys[phi.target] = left
                    for kind in (arrays, floats):
                        if joins(kind, phi.left, phi.right):
                            kind.add(phi.target)
            elif isinstance(stmt, (ssa.For, ssa.While)):
                if isinstance(stmt, ssa.For) and stmt.target in ints:
                    keys[stmt.target] = SCALAR_SHAPE
                for phi in stmt.phis:  # (until the body shows otherwise)
                    for kind, held in ((arrays, held_arrays),
                                       (floats, held_floats)):
                        if phi.target in held and joins(kind, phi.left):
                            kind.add(phi.target)
                    entry = key(phi.left)
                    if phi.target in held_keys and entry is not None:
                        keys[phi.target] = entry
                block(getattr(stmt, "test_body", []))
                block(stmt.body)
                loops.append(stmt)

    # a loop's variable holds no list (or int) if it enters the loop so and
    # each iteration leaves it so: assumed first, then checked, the
    # analysis done again without the assumptions that fail
    held_arrays = {phi.target for s in ssa.walk(func.body)
                   if isinstance(s, (ssa.For, ssa.While)) for phi in s.phis}
    held_floats = set(held_arrays)
    # and keeps its shape if each iteration leaves it the shape it entered
    # with (by induction over the iterations)
    held_keys = set(held_arrays)
    while True:
        keys, arrays, floats, loops = {}, set(known_arrays), {
            p for p in known_arrays if not isinstance(p, Number)}, []
        block(func.body)
        failed = False
        for loop in loops:
            for phi in loop.phis:
                if phi.target in keys and phi.target in held_keys and \
                        key(phi.right) != keys[phi.target]:
                    held_keys.discard(phi.target)
                    failed = True
                for kind, held in ((arrays, held_arrays),
                                   (floats, held_floats)):
                    if phi.target in kind and not joins(
                            kind, phi.left, phi.right):
                        held.discard(phi.target)
                        failed = True
        if not failed:
            return keys, arrays, floats, ints


# NumPy functions that give a tuple, a list or an int
_NUMPY_NOT_ARRAYS = {np.split, np.array_split, np.hsplit, np.vsplit,
                     np.dsplit, np.meshgrid, np.broadcast_arrays, np.nonzero,
                     np.atleast_1d, np.atleast_2d, np.atleast_3d, np.ix_,
                     np.unravel_index, np.shape, np.ndim, np.size,
                     np.isscalar, np.argwhere, np.where, np.gradient,
                     np.histogram, np.histogram2d, np.histogramdd,
                     np.unique, np.polyfit, np.indices, np.diag_indices,
                     np.tril_indices, np.triu_indices, np.mask_indices}
# math functions that give an int or a bool
_MATH_INTS = {math.floor, math.ceil, math.trunc, math.factorial, math.comb,
              math.perm, math.gcd, math.lcm, math.isqrt, math.prod,
              math.isclose, math.isfinite, math.isinf, math.isnan}


def _gives_no_int(stmt, floats):
    """Does `stmt` give a float, a complex number or a NumPy value (never
    an int, a bool, a list or a tuple), `floats` holding such names?"""
    fn = stmt.fn
    module = getattr(fn, "__module__", None) or ""
    if isinstance(fn, np.ufunc):
        return fn.nout == 1  # (np.modf, np.frexp, np.divmod: tuples)
    if module == "numpy" and fn not in _NUMPY_NOT_ARRAYS or \
            fn is np.where and len(stmt.args) == 3:
        return True
    if module == "math" and fn not in _MATH_INTS or fn in (
            float, complex, operator.truediv, operator.itruediv):
        return True
    if fn in (operator.matmul, runtime.imatmul):
        return True  # (an array: a list has no `@`)
    return (fn in _ELEMENTWISE or fn in JOINING or fn is ssa.identity) and any(
        holds(floats, o) for o in stmt.args)


def _keeps_dims(stmt, not_sequence):
    """Is `stmt` a reduction of NumPy's with `keepdims=True` (a method of a
    value known to be no list), writing no `out`?"""
    fn = stmt.fn
    if not (fn in _TOTALS or isinstance(fn, ssa.Method) and fn.name in
            _TOTAL_METHODS and stmt.args and not_sequence(stmt.args[0])):
        return False
    kwargs = dict(stmt.kwargs)
    keep = kwargs.get("keepdims")
    return len(stmt.args) >= 1 and not stmt.spreads() and "out" not in \
        kwargs and isinstance(keep, ssa.Const) and keep.value is True


def holds(kind, operand):
    """Is `operand` one of the names in `kind` (a set `shape_keys` gives:
    arrays or floats), or a float or complex constant?"""
    if isinstance(operand, ssa.Var):
        return operand.name in kind
    return type(getattr(operand, "value", None)) in (float, complex)


def item_key(base, index, ints=(), array=False):
    """The shape key of `x[index]`, x's key `base` (see `index_key`), or
    None."""
    index = index_key(index, ints, array)
    return None if index is None or base is None else ("item", base, index)


def range_ints(func):
    """The targets of `for` loops over a `range`: ints."""
    ranges = {s.target for s in ssa.walk(func.body)
              if isinstance(s, ssa.Assign) and s.fn is range}
    return {s.target for s in ssa.walk(func.body) if isinstance(s, ssa.For)
            and isinstance(s.iter, ssa.Var) and s.iter.name in ranges}


def index_key(index, ints=(), array=False):
    """What fixes the shape of `x[index]` given x's: per axis, an int
    (which drops the axis: only when x is known to be an `array`, as the
    items of a tuple, list or dict may each have a shape of their own) or
    the items a slice leaves; None for an index known only at run time or
    not made of ints and slices."""
    if isinstance(index, ssa.Var):
        return ("int",) if index.name in ints and array else None
    value = getattr(index, "value", None)
    parts = value if isinstance(value, tuple) else (value,)
    found = []
    for part in parts:
        if type(part) is int and array:
            found.append("int")
        elif isinstance(part, slice):
            found.append(_slice_key(part))
        else:
            return None
    while found and found[-1] == ("trim", 0):
        found.pop()  # `x[1:, :]` is `x[1:]`
    return tuple(found)


def _slice_key(part):
    """`x[a:b]` with a >= 0 and b < 0 (either left out) leaves max(0, n - a
    - |b|) of n items: slices with one a + |b| leave as many. Any other
    slice is its own key."""
    start, stop, step = part.start, part.stop, part.step
    if step in (None, 1) and (start is None or type(start) is int and
                              start >= 0) and (
            stop is None or type(stop) is int and stop < 0):
        return ("trim", (start or 0) - (stop or 0))
    return ("slice", start, stop, step)


def basic_index(index, ints, tuples):
    """Is `index` (an SSA operand) known to read each item at most once:
    made of ints (`ints`: names that hold one, as `range_ints`), slices,
    `None` and `...`, alone or in a tuple (`tuples`: names bound to a
    tuple display, to its items)? Then no write through it is overwritten
    by a later one of the same write (see runtime.keep_last)."""
    if isinstance(index, ssa.Var):
        if index.name in ints:
            return True
        parts = tuples.get(index.name)
        return parts is not None and all(
            not isinstance(p, ssa.Var) or p.name in ints for p in parts) \
            and all(basic_index(p, ints, {}) for p in parts
                    if not isinstance(p, ssa.Var))
    value = getattr(index, "value", _NO_INDEX)
    parts = value if isinstance(value, tuple) else (value,)
    return all(type(p) is int or isinstance(p, slice) or p is None or
               p is Ellipsis for p in parts)


_NO_INDEX = object()


def without_ints(func, known=()):
    """SSA names whose values are never an int or a bool, nor an array of
    them: floats, complex numbers, arrays of those (or values with no
    dtype at all). A derivative passes unchanged through a cast into their
    type (`K[i, j] = v` writes v into K's dtype; see
    runtime.through_cast). The greatest such set the statements allow: a
    loop's variable is in it when it enters the loop so and each iteration
    leaves it so. `known`: parameters known to hold floats."""
    made, joined = {}, {}
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None:
            made[stmt.target] = stmt
        for phi in getattr(stmt, "phis", ()):
            joined[phi.target] = (phi.left, phi.right)
    found = set(made) | set(joined)
    known = set(known) - found  # (parameters: no statement makes them)

    def holds(operand):
        if isinstance(operand, ssa.Var):
            return operand.name in found or operand.name in known
        return type(getattr(operand, "value", None)) in (float, complex)

    changed = True
    while changed:
        changed = False
        for name in list(found):
            stmt = made.get(name)
            kept = all(map(holds, joined[name])) if stmt is None else \
                _keeps_no_ints(stmt, holds)
            if not kept:
                found.discard(name)
                changed = True
    return found | known


# NumPy's makers of float64 arrays, given no dtype
_FLOAT_MAKERS = {np.zeros, np.ones, np.empty, np.eye, np.identity}
# the type codes of NumPy's booleans and integers
_INT_CODES = set("?bBhHiIlLqQnNpP")


def _keeps_no_ints(stmt, holds):
    """`without_ints` for the target of `stmt`, given `holds` of its
    operands."""
    fn, args = stmt.fn, stmt.args
    if stmt.spreads() or stmt.kwargs and not isinstance(fn, np.ufunc):
        return False  # (a dtype= or an out= may make anything)
    if fn in _WRITES or fn in _COPIES or fn is ssa.identity or \
            fn is ssa.method("copy"):
        return bool(args) and holds(args[0])  # (x's dtype)
    if fn in _FLOAT_MAKERS or fn in (float, complex, np.float64,
                                     np.complex128, operator.truediv,
                                     operator.itruediv, runtime.itruediv):
        return True  # (`/` of ints, as of int arrays, gives floats)
    if isinstance(fn, np.ufunc):
        kwargs = dict(stmt.kwargs)
        if set(kwargs) - {"where"}:
            return False  # (dtype=, out=, casting=)
        if fn.nout != 1 or any(_INT_CODES & set(t.split("->")[1])
                               for t in fn.types if t.startswith("d" * fn.nin)):
            return False  # (np.less, np.isnan: booleans of floats)
        outputs = {t.split("->")[1] for t in fn.types}
        return not outputs & _INT_CODES or any(map(holds, args))
    if getattr(fn, "__module__", None) == "math":
        return fn not in _MATH_INTS
    # (arithmetic gives a float when an operand is one; `/` is above)
    return (fn in _ELEMENTWISE or fn in JOINING) and any(map(holds, args))


def python_values(func, known=()):
    """SSA names that never hold an array: Python numbers, bools, strings,
    None and tuples or lists of them (or, from `known`, the parameters a
    variant's guard checks, and the items of a `Vector`: NumPy numbers).
    A Python `if` on one reads nothing an array library would have to
    compute (a lazy Dask array computes where an `if` reads its value).

    The greatest such set the statements allow, as `without_ints`: a loop
    counter `i = i + 1` stays one."""
    made, joined = {}, {}
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None:
            made[stmt.target] = stmt
        elif isinstance(stmt, ssa.For):
            made[stmt.target] = stmt
        for phi in getattr(stmt, "phis", ()):
            joined[phi.target] = (phi.left, phi.right)
    vectors = _iterated_vectors(func, {p for p in known
                                       if isinstance(p, Vector)})
    known = {str(p) for p in known if not isinstance(p, Vector)}
    found = set(made) | set(joined)
    ranges = {s.target for s in made.values()
              if isinstance(s, ssa.Assign) and s.fn is range}

    def holds(operand):
        if isinstance(operand, ssa.Var):
            return operand.name in found or operand.name in known
        return isinstance(operand, ssa.Const) or isinstance(
            operand, ssa.Free) and _python_global(operand.value)

    def python(stmt):
        if isinstance(stmt, ssa.For):  # (a `range`'s ints)
            return isinstance(stmt.iter, ssa.Var) and \
                stmt.iter.name in ranges
        fn, args = stmt.fn, stmt.args
        if fn in _GIVE_PYTHON_VALUES or fn is getattr and isinstance(
                args[1], ssa.Const) and args[1].value in ssa.METADATA or \
                getattr(fn, "__module__", None) == "math" and \
                fn is not math.prod:
            return True  # (whatever they read: `float(x)` computes x)
        if fn is operator.getitem and isinstance(args[0], ssa.Var) and (
                args[0].name in vectors or args[0].name in ranges):
            return True  # (a NumPy number of the vector the guard checks;
            # a range's int, as a loop that may break reads it)
        return not stmt.kwargs and not stmt.spreads() and (
            fn in _KEEP_PYTHON_VALUES or getattr(fn, "__module__", None)
            in ("_operator", "operator")) and all(map(holds, args))

    changed = True
    while changed:
        changed = False
        for name in list(found):
            stmt = made.get(name)
            if not (all(map(holds, joined[name])) if stmt is None
                    else python(stmt)):
                found.discard(name)
                changed = True
    return found | known


def may_be_array(operand, python):
    """Can a Python `if` on `operand` read an array's value (`python`, the
    names `python_values` found)?"""
    return isinstance(operand, ssa.Var) and operand.name not in python or \
        isinstance(operand, ssa.Free) and not _python_global(operand.value)


def _python_global(value):
    """Is a global's value a Python value (see `python_values`): a number,
    string or None (the derivative's guard checks a global number still
    holds one), or a class (`np.float64`)?"""
    return type(value) in _PYTHON_VALUES or isinstance(value, type)


_PYTHON_VALUES = {int, float, bool, complex, str, type(None)}
# what gives a Python value whatever its operands (or raises)
_GIVE_PYTHON_VALUES = {len, isinstance, issubclass, hasattr, callable, bool,
                       int, float, complex, str, repr, operator.is_,
                       operator.is_not, operator.not_, ssa.method("item"),
                       ssa.method("tolist")}
# what gives one when its operands are Python values
_KEEP_PYTHON_VALUES = {ssa.identity, ssa.make_tuple, ssa.make_list, abs, min,
                       max, round, sum, ssa.is_in, ssa.is_not_in, divmod,
                       pow} | {getattr(runtime, f"i{op}") for op in (
                           "add", "sub", "mul", "truediv", "floordiv", "mod",
                           "pow")}  # (`k += 1`)


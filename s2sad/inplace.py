"""Updates in place: element and slice assignment into arrays the function
made itself.

The SSA form gives each assignment `K[i, j] = v` a new value, `K_3 =
runtime.setitem(K_2, (i, j), v)`, which copies K: building an n x n matrix
element by element then costs O(n^4) time, and a reverse sweep that reads
K tapes a copy per element. Lowering already refuses such an assignment
when anything else holds K (an argument, an alias, a view), so the old
value is never read again by the program itself; only the derivative
would read it. Such an assignment, which lowering marks `unshared` (not a call of
`runtime.setitem` in generated code, whose tape may hold the array),
becomes

    K_2_old = runtime.overwritten(K_2, (i, j))
    K_3 = runtime.setitem_in_place(K_2, (i, j), v, K_2_old)

which writes into K itself and keeps only the values it overwrites (O(size
of the slice)). The reverse sweep, which runs the statements backwards,
puts those values back before it differentiates anything earlier
(`runtime.restore`, in the adjoint of `setitem_in_place`), so every
adjoint reads K as the program had it at that point, as Tapenade's
push/pop of overwritten values does. Where no adjoint reads the values of
any version of K (a linear update: the adjoint of a sum reads only
shapes), nothing is kept: `K_3 = runtime.setitem_owned(K_2, (i, j), v)`.
A forward sweep (a jvp) never needs them either.

A list's `xs.append(v)`, `xs_2 = runtime.appended(xs_1, v)`, copies the
list too: a list built in a loop then costs O(n^2). It appends in place,
`xs_2 = runtime.appended_owned(xs_1, v)`, where the list is the function's
own and nothing reads any of its versions before the last append has run
(`sum(xs)` after the loop, not `xs[-1]` in it): what reads it, going
forward or in the backward sweep, finds it whole, as it was when read. So
far in a gradient of the user's code only (a jvp's tangent list is still a
new one at each append, and so is the tape of a gradient differentiated
again, which its adjoints read as it was at each append).

This applies where the generated code runs its forward and backward sweep
once per call (a gradient, a Jacobian-vector product), to arrays made by the
function (by `np.zeros`, arithmetic, `.copy()`, ...; never an argument or a
module-level value), and not to a chain of versions that reaches the
returned value (the caller would see it change). A vjp's backward sweep
may run many times for one forward sweep, so it keeps the copies.

When generated code is differentiated again, `normalize` reads these
calls back as the plain `runtime.setitem` (and drops the restores): the
next order sees the same values, and makes its own updates in place.
"""

import collections
import copy
import operator

import gast
import numpy as np

from s2sad import analysis, runtime, ssa, template

# what returns a new array (or list) no one else holds
_FRESH = {
    np.zeros, np.ones, np.empty, np.full, np.eye, np.identity, np.zeros_like,
    np.ones_like, np.empty_like, np.full_like, np.copy, np.arange,
    np.linspace, np.concatenate, np.stack, np.vstack, np.hstack, np.tile,
    np.outer, operator.add, operator.sub, operator.mul, operator.truediv,
    operator.floordiv, operator.pow, operator.matmul, operator.neg,
    operator.mod, runtime.owned_copy, runtime.owned_argument, runtime.setitem,
    ssa.make_list, list,
    runtime.concatenated, runtime.repeated}
# the updates that give back the array or list they update
_UPDATES = {runtime.setitem, runtime.setitem_in_place, runtime.setitem_owned,
            runtime.appended, runtime.appended_owned,
            runtime.appended_in_place}
_FRESH_METHODS = {"copy", "astype"}
# what holds the values it is given (containers, a list appended to, a
# value given back)
_HOLDERS = {ssa.make_tuple, ssa.make_list, ssa.make_dict, ssa.identity,
            runtime.appended, runtime.concatenated, runtime.inserted,
            runtime.changed}
# what reads no more than the kind of its first operand in its adjoint
_SHAPE_ONLY = {runtime.setitem, ssa.identity, runtime.overwritten, np.copy,
               runtime.owned_copy, runtime.owned_argument}


def normalize(func):
    """Read what generated code does in place as the plain operations it
    stands for, when generated code is differentiated again (in place: a
    function's own SSA): updates as `runtime.setitem` (see the module
    docstring; the optimiser's `runtime.cleared` too), `runtime.like(x)` (what a tape keeps of an array whose
    shape only is read) as x, and `runtime.getitem_adjoints` (the
    optimiser's sum of slice adjoints) as the sum of `getitem_adjoint`s
    (into the setitem of zeros it may stand for, `replaced`)."""
    def block(stmts):
        out = []
        for stmt in stmts:
            # (generated code calls them as `runtime.<name>`)
            if isinstance(stmt, ssa.Assign) and isinstance(stmt.callee,
                                                           gast.Attribute):
                if stmt.fn in (runtime.restore, runtime.unappended):
                    continue
                if stmt.fn is runtime.like:
                    stmt = ssa.noted_as(stmt, ssa.Assign(
                        stmt.target, ssa.identity, stmt.args[:1],
                        node=stmt.node))
                if stmt.fn is runtime.getitem_adjoints:
                    out += _summed(stmt, func.namer)
                    continue
                if stmt.fn in (runtime.setitem_in_place,
                               runtime.setitem_owned):
                    stmt = _calling(stmt, runtime.setitem, stmt.target,
                                    stmt.args[:3])
                if stmt.fn in (runtime.appended_owned,
                               runtime.appended_in_place):
                    stmt = _calling(stmt, runtime.appended, stmt.target,
                                    stmt.args)
                if stmt.fn is runtime.cleared:  # (the optimiser's)
                    stmt = _calling(stmt, runtime.setitem, stmt.target,
                                    [*stmt.args[:2], ssa.Const(0.0)])
            out.append(ssa.with_blocks(stmt, block))
        return out
    func.body = block(func.body)


def _summed(stmt, namer):
    """`t = getitem_adjoints(total, x, g1, i1, ...)` as SSA statements
    `a1 = getitem_adjoint(g1, x, i1); s1 = total + a1; ...` (with
    `replaced=True`, total is `setitem(total, i1, 0.0)` first)."""
    total, x, *pairs = stmt.args
    out = []
    replaced = dict(stmt.kwargs).get("replaced")
    if isinstance(replaced, ssa.Const) and replaced.value is True:
        cleared = namer.temp()
        out.append(_calling(stmt, runtime.setitem, cleared,
                            [total, pairs[1], ssa.Const(0.0)]))
        total = ssa.Var(cleared)
    for k in range(0, len(pairs), 2):
        term = namer.temp()
        out.append(_calling(stmt, runtime.getitem_adjoint, term,
                            [pairs[k], x, pairs[k + 1]]))
        if isinstance(total, ssa.Const) and total.value is None:
            total = ssa.Var(term)
            continue
        added = namer.temp()
        out.append(ssa.Assign(added, operator.add, [total, ssa.Var(term)],
                              node=stmt.node))
        total = ssa.Var(added)
    out.append(ssa.Assign(stmt.target, ssa.identity, [total],
                          node=stmt.node))
    return out


def update_in_place(func, mode):
    """Turn the function's eligible `runtime.setitem` statements into
    updates in place (see the module docstring), in its own SSA; `mode`
    "forward", "vector" or "reverse"."""
    defs = {}
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None:
            defs[stmt.target] = stmt
        for phi in getattr(stmt, "phis", ()):
            defs[phi.target] = phi
    if mode == "reverse" and not func.source.generated:
        _last_items_carried(func, defs)
    updates = [s for s in ssa.walk(func.body) if isinstance(s, ssa.Assign)
               and s.fn in (runtime.setitem, runtime.appended)
               and getattr(s, "unshared", False)
               and isinstance(s.args[0], ssa.Var) and not s.kwargs]
    if not updates:
        return
    fresh = _Fresh(defs, set(func.all_params))
    chains = _chains(defs)
    # what the caller is given: what is returned, what the containers
    # returned hold at any depth (a has_aux gradient's `return loss,
    # {"y": y[:2]}`), and the arrays what it is given may be views of
    # (an item of a list is no view of it: `return values[0]` of a
    # binomial tree's list leaves the list the function's to change)
    lists = {chains.find(s.target) for s in ssa.walk(func.body)
             if isinstance(s, ssa.Assign) and s.target is not None and
             s.fn in (runtime.appended, ssa.make_list, list, runtime.repeated,
                      runtime.concatenated)}
    returned = set()
    held = [o.name for o in analysis.returned(func.body)
            if isinstance(o, ssa.Var)]
    while held:
        name = held.pop()
        if name in returned:
            continue
        returned.add(name)
        made = defs.get(name)
        if isinstance(made, ssa.Phi):
            held += [o.name for o in (made.left, made.right)
                     if isinstance(o, ssa.Var)]
        elif isinstance(made, ssa.Assign) and made.fn is operator.getitem \
                and isinstance(made.args[0], ssa.Var) and \
                chains.find(made.args[0].name) in lists:
            continue
        elif isinstance(made, ssa.Assign) and (made.fn in _HOLDERS or
                                               ssa.makes_view(made.fn)):
            held += [o.name for o in made.operands()
                     if isinstance(o, ssa.Var)]
    seen = {chains.find(name) for name in returned}  # by the caller
    chosen = [s for s in updates
              if fresh(s.args[0].name) and chains.find(s.target) not in seen]
    appends = [s for s in chosen if s.fn is runtime.appended]
    undone = set()  # (the chains of appends the backward sweep undoes)
    if appends:
        # (a gradient's only: a forward sweep makes the zero tangent of a
        # list without one from the list where it first needs it, later;
        # and not of generated code, whose tape its adjoints read as it
        # was at each append: `unbroadcast` of an item's adjoint)
        unread, undone = _read_after_appends(func, chains, appends, defs) \
            if mode == "reverse" and not func.source.generated else (
                set(), set())
        chosen = [s for s in chosen if s.fn is runtime.setitem or
                  chains.find(s.target) in unread | undone]
    if not chosen:
        return
    kept = set() if mode in ("forward", "vector", "linear") else _restored(
        func, chains, [s for s in chosen if s.fn is runtime.setitem])
    func.body = _rewrite(func.body, {
        id(s): chains.find(s.target) in (
            undone if s.fn is runtime.appended else kept) for s in chosen},
        func.namer)


def _last_items_carried(func, defs, deepest=4):
    """`xs[-1]` (and `xs[-2]`, ... to `xs[-deepest]`) of a list the
    function made and appends to (`xs = [x0]`, then `xs.append(step(xs[-1],
    xs[-2]))` in a loop, in branches, after a `continue`): an item appended
    lately, a value of its own that branches and loops join as they join
    the list (`last = phi(x0, v)`). Then no version of the list is read in
    a loop but by its appends, which may run in place (see
    `_read_after_appends`): a trajectory or a multistep method's history
    recorded so costs O(steps), not O(steps^2)."""
    reads = collections.defaultdict(list)  # (list name, k) -> `[-k]` reads
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.fn is operator.getitem \
                and len(stmt.args) == 2 and isinstance(stmt.args[0], ssa.Var) \
                and isinstance(stmt.args[1], ssa.Const) and \
                type(stmt.args[1].value) is int:
            index = stmt.args[1].value
            if index >= 0:  # (`xs[0]`: the literal's, whatever is appended)
                first = _first_item(stmt.args[0].name, index, defs, set())
                if isinstance(first, (ssa.Var, ssa.Const)):
                    stmt.fn, stmt.args = ssa.identity, (first,)
            elif index >= -deepest:
                reads[stmt.args[0].name, -index].append(stmt)
    if not reads:
        return
    joins = {phi.target: (stmt, phi) for stmt in ssa.walk(func.body)
             for phi in getattr(stmt, "phis", ())}

    def sources(name, k):  # (what the k-th last item of `name` is read off)
        made = defs.get(name)
        if isinstance(made, ssa.Phi):
            return [(o, k) for o in (made.left, made.right)]
        if made.fn is ssa.identity:
            return [(made.args[0], k)]
        if made.fn is runtime.appended and k > 1:
            return [(made.args[0], k - 1)]
        return []
    # the versions whose k-th last item is known, (name, k): made by a list
    # literal of k items or more, an append, or joined or copied from such
    # (the greatest such set)
    known = {(name, k) for name, made in defs.items()
             for k in range(1, deepest + 1) if isinstance(made, ssa.Phi) or
             isinstance(made, ssa.Assign) and (
                 made.fn is ssa.identity or made.fn is runtime.appended and
                 not made.kwargs or made.fn is ssa.make_list and
                 len(made.args) >= k and not made.spreads())}
    changed = True
    while changed:
        changed = False
        for name, k in list(known):
            if not all(isinstance(o, ssa.Var) and (o.name, k) in known
                       for o, k in sources(name, k)):
                known.discard((name, k))
                changed = True
    needed, todo = set(), [key for key in reads if key in known]
    while todo:
        key = todo.pop()
        if key not in needed:
            needed.add(key)
            todo += [(o.name, k) for o, k in sources(*key)]
    lasts = {}  # (version, k) -> the variable a join gives its item
    for name, k in needed:
        if isinstance(defs[name], ssa.Phi):
            lasts[name, k] = ssa.Var(func.namer.fresh(
                f"{name}_last" + (f"{k}" if k > 1 else "")))

    def last(name, k):
        if (name, k) in lasts:
            return lasts[name, k]
        made = defs[name]
        if made.fn is ssa.make_list:
            return made.args[-k]
        if made.fn is runtime.appended and k == 1:
            return made.args[1]
        (operand, k), = sources(name, k)
        return last(operand.name, k)
    for (name, k), var in lasts.items():
        stmt, phi = joins[name]
        right = last(phi.right.name, k)
        if isinstance(stmt, (ssa.For, ssa.While)) and isinstance(
                right, ssa.Var) and right.name in {p.target for p in stmt.phis} \
                | {v.name for (n, _), v in lasts.items()
                   if joins[n][0] is stmt}:
            # (the item before the last is what the loop carried as its
            # last: taken in a copy, as a loop's joins take their values at
            # once)
            copied = func.namer.fresh(f"{right.name}_copy")
            stmt.body.append(ssa.Assign(copied, ssa.identity, [right],
                                        node=stmt.node))
            right = ssa.Var(copied)
        stmt.phis.append(ssa.Phi(var.name, last(phi.left.name, k), right))
    for key in needed & set(reads):
        for read in reads[key]:
            read.fn, read.args = ssa.identity, (last(*key),)


def _first_item(name, index, defs, seen):
    """The operand that is `name[index]` (index >= 0) of a version of a
    list made by a literal of more items and appended to since (through
    copies and joins that agree), or None; `seen` (a loop's join met again:
    its other side decides) gives `seen` itself back."""
    made = defs.get(name)
    if isinstance(made, ssa.Phi):
        if name in seen:
            return seen
        seen.add(name)
        sides = [_first_item(o.name, index, defs, seen)
                 if isinstance(o, ssa.Var) else None
                 for o in (made.left, made.right)]
        sides = [side for side in sides if side is not seen]
        return sides[0] if sides and all(
            side is not None and side == sides[0] for side in sides) else None
    if not isinstance(made, ssa.Assign):
        return None
    if made.fn is ssa.make_list and not made.spreads():
        return made.args[index] if index < len(made.args) else None
    if made.fn is ssa.identity or made.fn is runtime.appended and \
            not made.kwargs:
        source = made.args[0]
        return _first_item(source.name, index, defs, seen) if isinstance(
            source, ssa.Var) else None
    return None


def _restored(func, chains, updates):
    """The chains (roots) whose overwritten values the reverse sweep must
    put back: an adjoint reads the value of one of its versions, and one of
    the `updates` may run after that read (later in the program, or in a
    loop around both). Reads are an operand of a differentiated statement
    whose adjoint reads its value (a product's other factor; not a sum's
    terms, nor an indexed array, whose shape only is read), or of a view of
    it; without a differentiated input known here, every statement that
    depends on a parameter counts as differentiated."""
    if any(isinstance(s, ssa.GradOf) for s in ssa.walk(func.body)):
        return {chains.find(s.target) for s in updates}
    order, loops = _places(func)
    varied = analysis.varied(func, func.all_params)
    users = collections.defaultdict(list)
    made = {}
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign):
            for operand in stmt.operands():
                if isinstance(operand, ssa.Var):
                    users[operand.name].append(stmt)
            if stmt.target is not None:
                made[stmt.target] = stmt
    memo = {}

    def readers(name):
        """The statements whose adjoints read the value of `name`: those
        it is an operand of, and the one that made it where that one's
        adjoint reads its own result (`-z / y` of `z = c / y`)."""
        if name not in memo:
            memo[name] = []  # (a cycle through a loop adds nothing)
            found = []
            for stmt in users[name]:
                found += _reads_value(stmt, name, varied, readers)
            if name in made and _reads_own_value(made[name], varied):
                found.append(made[name])
            memo[name] = found
        return memo[name]

    def later(update, read):
        return order[id(update)] > order[id(read)] or bool(
            loops[id(update)] & loops[id(read)])
    versions = collections.defaultdict(list)  # root -> the chain's names
    for name in list(chains.parent):
        versions[chains.find(name)].append(name)
    kept = set()
    for update in updates:
        root = chains.find(update.target)
        if root not in kept and any(
                later(update, read) for name in versions[root]
                for read in readers(name)):
            kept.add(root)
    return kept


def _read_after_appends(func, chains, appends, defs):
    """(unread, undone): the chains (roots) of `appends` of which every
    version is read only after the last of them has run (in the program's
    order, and not in a loop around one), which may be appended to in
    place as they are; and of the others, those of which each version is
    read going forward only before the append that takes it runs (an
    item of the list so far, `x[t - 1]`, before `x.append(...)`), which
    may be appended to in place where the backward sweep undoes each
    append when it reaches it (`runtime.appended_in_place`): what it reads
    of a version, going back, then finds the list as it was. A read of an
    earlier version after an append would find the items appended since.
    Reads are any use but the chain's own links (an update's list, a
    copy, a join)."""
    order, loops = _places(func)
    roots = {chains.find(s.target) for s in appends}
    last = collections.defaultdict(list)  # root -> its appends
    taking = collections.defaultdict(list)  # version -> the appends taking it
    for stmt in appends:
        last[chains.find(stmt.target)].append(stmt)
        taking[_copied_from(stmt.args[0].name, defs)].append(stmt)
    made_in = _made_in(func, loops)
    spoilt, unsafe = set(), set()
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and (
                stmt.fn in _UPDATES or stmt.fn is ssa.identity):
            operands = list(stmt.operands())[1:]  # (not the list updated)
        elif isinstance(stmt, ssa.Assign):
            operands = list(stmt.operands())
        else:  # (what is returned, a test, a loop's iterable; joins are
            # links)
            operands = [getattr(stmt, field, None)
                        for field in ("value", "test", "iter", "var")]
        for operand in operands:
            if not isinstance(operand, ssa.Var) or \
                    operand.name not in chains.parent:
                continue
            root = chains.find(operand.name)
            if root not in roots:
                continue
            if any(order[id(update)] > order[id(stmt)] or
                   loops[id(update)] & loops[id(stmt)]
                   for update in last[root]):
                spoilt.add(root)
            # (the append taking the version runs once for each time it
            # is made, and before the read where both are made as often:
            # a loop's join read after the loop has left it is its last)
            version = _copied_from(operand.name, defs)
            made = made_in.get(version, frozenset())
            if any(loops[id(update)] != made or made <= loops[id(stmt)] and
                   order[id(update)] < order[id(stmt)]
                   for update in taking[version]):
                unsafe.add(root)
    return roots - spoilt, spoilt - unsafe


def _copied_from(name, defs):
    """The version `name` is a copy of (through `a = b` copies), or name."""
    made = defs.get(name)
    while isinstance(made, ssa.Assign) and made.fn is ssa.identity and \
            isinstance(made.args[0], ssa.Var):
        name = made.args[0].name
        made = defs.get(name)
    return name


def _made_in(func, loops):
    """The loops around where each SSA name is made (a loop's own joins:
    in it, made anew on each iteration)."""
    made = {}
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and stmt.target is not None:
            made[stmt.target] = loops[id(stmt)]
        inner = loops[id(stmt)] | {id(stmt)} if isinstance(
            stmt, (ssa.For, ssa.While)) else loops[id(stmt)]
        for phi in getattr(stmt, "phis", ()):
            made[phi.target] = inner
    return made


def _places(func):
    """(order, loops): each statement's place in the program's order, and
    the loops around it (ids)."""
    order, loops = {}, {}

    def place(stmts, around):
        for stmt in stmts:
            order[id(stmt)], loops[id(stmt)] = len(order), around
            inner = around | {id(stmt)} if isinstance(
                stmt, (ssa.For, ssa.While)) else around
            for field in ("test_body", "body", "orelse"):
                block = getattr(stmt, field, None)
                if isinstance(block, list) and not isinstance(stmt,
                                                              ssa.GradOf):
                    place(block, inner)
    place(func.body, frozenset())
    return order, loops


def _reads_own_value(stmt, varied):
    """Does the adjoint of `stmt`, a differentiated statement, read the
    value it made (a quotient, a power of a constant: its rule's template
    reads its output)? A call with no rule (a function of the user's,
    whose backward sweep may hold what it returned): taken to."""
    if stmt.target not in varied or stmt.fn in _SHAPE_ONLY or \
            ssa.makes_view(stmt.fn) or isinstance(stmt.fn, ssa.Method) and \
            stmt.fn.name in _FRESH_METHODS:
        return False
    rule = analysis.rule_of(stmt)
    if rule is None:
        return stmt.fn not in _FRESH  # (the operators have rules)
    if not rule.differentiable:
        return False
    tmpl = rule.template("adjoint", len(stmt.args)) or rule.partials
    return tmpl is None or tmpl.reads_output


def _reads_value(stmt, name, varied, readers):
    """The statements whose adjoints read the value of `name` through
    `stmt`, one of its users: [stmt], [] or, for a view, its readers."""
    if stmt.fn in _SHAPE_ONLY or isinstance(stmt.fn, ssa.Method) and \
            stmt.fn.name in _FRESH_METHODS:
        return []  # its dtype at most: the adjoint passes g on
    if ssa.makes_view(stmt.fn):
        # its shape; but the result may share its memory
        return readers(stmt.target)
    if stmt.target not in varied:
        return []  # not differentiated: no adjoint
    rule = analysis.rule_of(stmt)
    if rule is None or rule.partials is None:
        return [stmt]
    try:
        bound = template.bind(rule.partials, stmt, object())
    except TypeError:
        return [stmt]
    partials = rule.partials.body[-1].value
    parts = partials.elts if isinstance(partials, gast.Tuple) else [partials]
    inputs = rule.partials.params[1:]
    own = {p for p, o in bound.items() if isinstance(o, ssa.Var)
           and o.name == name}
    for param, part in zip(inputs, parts):
        operand = bound.get(param)
        if isinstance(operand, ssa.Var) and operand.name in varied and any(
                isinstance(n, gast.Name) and n.id in own
                for n in gast.walk(part)):
            return [stmt]
    return []


class _Fresh:
    """Is an SSA name's value an array only this function holds: made by
    it (see `_FRESH`), through copies, branches and loops?"""

    def __init__(self, defs, params):
        self.defs, self.params = defs, params
        self.known = {}

    def __call__(self, name, seen=None):
        if name in self.known:
            return self.known[name]
        seen = set() if seen is None else seen
        if name in seen:
            return True  # a loop's back edge: decided by its entry
        seen.add(name)
        made = self.defs.get(name)
        if name in self.params or made is None:
            result = False
        elif isinstance(made, ssa.Phi):
            result = all(self.side(o, seen) for o in (made.left, made.right))
        elif made.fn in (ssa.identity, runtime.setitem, runtime.appended):
            result = self.side(made.args[0], seen)  # the same array (list)
        elif any(k == "copy" for k, _ in made.kwargs):
            result = False  # it may give its operand back
        elif isinstance(made.fn, ssa.Method):
            result = made.fn.name in _FRESH_METHODS
        else:
            result = made.fn in _FRESH
        if len(seen) == 1:
            self.known[name] = result
        return result

    def side(self, operand, seen):
        if isinstance(operand, ssa.Undefined):
            return True
        return isinstance(operand, ssa.Var) and self(operand.name, seen)


def _chains(defs):
    """The versions of one array, joined: an update's input and result,
    copies, and both sides of a join."""
    chains = _UnionFind()
    for name, made in defs.items():
        if isinstance(made, ssa.Phi):
            sides = (made.left, made.right)
        elif made.fn is ssa.identity or made.fn in _UPDATES:
            sides = made.args[:1]
        else:
            continue
        for side in sides:
            if isinstance(side, ssa.Var):
                chains.join(name, side.name)
    return chains


class _UnionFind:
    def __init__(self):
        self.parent = {}

    def find(self, name):
        parent = self.parent.setdefault(name, name)
        if parent != name:
            parent = self.parent[name] = self.find(parent)
        return parent

    def join(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def _rewrite(stmts, chosen, namer):
    """`chosen`: id(update) -> whether its overwritten values are kept (of
    an append: whether the backward sweep undoes it)."""
    out = []
    for stmt in stmts:
        if id(stmt) in chosen and stmt.fn is runtime.appended:
            helper = runtime.appended_in_place if chosen[id(stmt)] else \
                runtime.appended_owned  # (undone going back, or not)
            stmt = _calling(stmt, helper, stmt.target, stmt.args)
        elif id(stmt) in chosen:
            array, index, value = stmt.args
            if chosen[id(stmt)]:
                old = namer.fresh(f"{array.name}_old")
                out.append(_calling(stmt, runtime.overwritten, old,
                                    [array, index]))
                stmt = _calling(stmt, runtime.setitem_in_place, stmt.target,
                                [array, index, value, ssa.Var(old)])
            else:
                stmt = _calling(stmt, runtime.setitem_owned, stmt.target,
                                [array, index, value])
        out.append(ssa.with_blocks(
            stmt, lambda inner: _rewrite(inner, chosen, namer)))
    return out


def _calling(stmt, helper, target, args):
    """`target = runtime.<helper>(*args)` in place of `stmt`, a call of
    another runtime helper: reached as stmt's is, located where it is, with
    what lowering noted on it."""
    callee = copy.deepcopy(stmt.callee)
    callee.attr = helper.__name__
    return ssa.noted_as(stmt, ssa.Assign(target, helper, args, callee=callee,
                                         node=stmt.node))

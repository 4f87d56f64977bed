"""Fence: reject the Python s2sad cannot differentiate, before any lowering.

Every rejection is an `S2SADError` located at the user's file and line that
names the construct and says what to write instead. What passes the fence is
what `desugar` and `ssa` know how to lower.
"""

import gast

from s2sad import errors, trees

# node type -> (construct, what to do instead)
_UNSUPPORTED = {
    gast.Nonlocal: ("`nonlocal` statements", "pass the value in as an argument and "
                    "return the new value"),
    gast.Yield: ("generators (`yield`)", "return a list or an array"),
    gast.YieldFrom: ("generators (`yield from`)", "return a list or an array"),
    gast.AsyncFunctionDef: ("async functions", "use a plain function"),
    gast.AsyncFor: ("`async for` loops", "use a plain loop"),
    gast.AsyncWith: ("`async with` blocks", "use plain code"),
    gast.Await: ("`await` expressions", "use plain code"),
    gast.ClassDef: ("classes defined inside the function", "define the class "
                    "at module level"),
    gast.Import: ("imports inside the function", "import at module level"),
    gast.ImportFrom: ("imports inside the function", "import at module level"),
    gast.SetComp: ("set comprehensions", "write an explicit loop"),
    gast.NamedExpr: ("assignment expressions (`:=`)", "assign on a line of its "
                     "own"),
}


def check(source):
    """Raise a located error for the first unsupported construct in `source`."""
    func = source.tree
    for stmt in func.body:
        _check(source, stmt)


def _check(source, node):
    kind = type(node)
    if kind is gast.With and _is_grad_of(source, node):
        for stmt in node.body:
            if any(isinstance(n, gast.Return) for n in gast.walk(stmt)):
                raise source.error(
                    errors.UnsupportedSyntaxError, stmt,
                    "`return` inside `with s2sad.grad_of(...)` is not "
                    "supported: the block runs in the backward pass")
            _check(source, stmt)
        return
    if isinstance(node, gast.Call):  # `f(*args)` is the one starred form
        for arg in node.args:
            _check(source, arg.value if isinstance(arg, gast.Starred) else arg)
        for part in [node.func] + node.keywords:
            _check(source, part)
        return
    if kind is gast.Starred and isinstance(node.ctx, gast.Store):
        _check(source, node.value)  # `first, *rest = xs`: a list of the rest
        return
    if kind in (gast.List, gast.Tuple) and isinstance(node.ctx, gast.Load):
        for elt in node.elts:  # `[*xs, y]`: see desugar._Shorthands
            _check(source, elt.value if isinstance(elt, gast.Starred)
                   else elt)
        return
    if kind is gast.Starred:
        raise source.error(
            errors.UnsupportedSyntaxError, node,
            "starred expressions (`*xs`) are supported in calls, lists and "
            "tuples only; build the set or dict with `|` or index it instead")
    if kind in _UNSUPPORTED:
        what, instead = _UNSUPPORTED[kind]
        raise source.error(errors.UnsupportedSyntaxError, node,
                           f"{what} are not supported; {instead}")
    if kind is gast.Try:  # the handlers do not run in derivative code
        for part in node.body + node.orelse + node.finalbody:
            _check(source, part)
        return
    if kind is gast.Global:
        stored = {n.id for n in trees.walk(source.tree) if isinstance(
            n, gast.Name) and isinstance(n.ctx, gast.Store)}
        for name in node.names:
            if name in stored:
                raise source.error(
                    errors.UnsupportedSyntaxError, node,
                    f"assigning the global name `{name}` is not supported: "
                    "s2sad does not change module-level values; return the "
                    "new value instead")
    elif kind is gast.Raise and node.exc is None:
        raise source.error(
            errors.UnsupportedSyntaxError, node,
            "a bare `raise` is supported only in an `except` block, which "
            "derivative code does not run; raise an exception object")
    elif kind is gast.Delete:
        for target in node.targets:
            if not (isinstance(target, gast.Name) or isinstance(
                    target, gast.Subscript) and isinstance(
                    target.value, gast.Name) and not isinstance(
                    target.slice, gast.Slice)):
                raise source.error(
                    errors.UnsupportedSyntaxError, target,
                    "`del` is supported for a name and for one item of a "
                    "list or dict (`del xs[i]`, `del d[key]`); build a new "
                    "value instead")
    elif kind is gast.With:
        from s2sad import extend
        for item in node.items:
            call = item.context_expr
            if isinstance(call, gast.Call) and source.resolve(
                    call.func) is extend.grad_of:
                raise source.error(
                    errors.UnsupportedSyntaxError, node,
                    "write a gradient hook as `with s2sad.grad_of(x) as "
                    "dx:`, x a variable of the function and the only item "
                    "of the `with`")
    if isinstance(node, (gast.For, gast.While)):
        if node.orelse:
            raise source.error(
                errors.UnsupportedSyntaxError, node,
                "`else` on a loop is not supported; set a flag in the loop "
                "and test it after the loop")
    elif isinstance(node, (gast.Assign, gast.AugAssign)):
        targets = node.targets if isinstance(node, gast.Assign) else [node.target]
        for target in targets:
            _check_target(source, target)
    for child in gast.iter_child_nodes(node):
        _check(source, child)


def _is_grad_of(source, node):
    """Is `node` `with s2sad.grad_of(<name>) as <name>:`?"""
    from s2sad import extend  # (extend needs the rules, which need ssa)
    if len(node.items) != 1:
        return False
    item = node.items[0]
    call = item.context_expr
    return (isinstance(call, gast.Call) and len(call.args) == 1
            and not call.keywords and isinstance(call.args[0], gast.Name)
            and isinstance(item.optional_vars, gast.Name)
            and source.resolve(call.func) is extend.grad_of)


def _check_target(source, target):
    if isinstance(target, (gast.Tuple, gast.List)):
        for elt in target.elts:
            _check_target(source, elt)
    elif isinstance(target, gast.Attribute):
        raise source.error(
            errors.UnsupportedSyntaxError, target,
            "assignment to an attribute (`obj.attr = ...`) is not supported: "
            "s2sad does not change objects; return the new value instead")
    elif isinstance(target, gast.Subscript) and isinstance(
            target.value, gast.Subscript) and isinstance(
            target.value.value, gast.Subscript):
        # (`rows[i][j] = v` is an update of the item `rows[i]`: see ssa)
        raise source.error(
            errors.UnsupportedSyntaxError, target,
            f"assignment into `{trees.unparse(target)}` (an item of an item "
            "of an item) is not supported; for an array write one index "
            "(`a[i, j, k]`); for nested lists or dicts, copy the inner item, "
            "update the copy and assign it back (`row = rows[i][j].copy()`, "
            "`row[k] = v`, `rows[i][j] = row`)")

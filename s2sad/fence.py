"""Fence: reject the Python s2sad cannot differentiate, before any lowering.

Every rejection is an `S2SADError` located at the user's file and line that
names the construct and says what to write instead. What passes the fence is
what `desugar` and `ssa` know how to lower.
"""

import gast

from s2sad import errors

# node type -> (construct, what to do instead)
_UNSUPPORTED = {
    gast.Try: ("try/except blocks", "move the error handling outside the "
               "differentiated function"),
    gast.With: ("`with` blocks other than `with s2sad.grad_of(x) as dx:`",
                "move the context manager outside the differentiated "
                "function"),
    gast.Global: ("`global` statements", "pass the value in as an argument"),
    gast.Nonlocal: ("`nonlocal` statements", "pass the value in as an argument and "
                    "return the new value"),
    gast.Delete: ("`del` statements", "let the variable go out of scope instead"),
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
    gast.DictComp: ("dict comprehensions", "write an explicit loop"),
    gast.GeneratorExp: ("generator expressions", "use a list comprehension "
                        "(`sum([x * x for x in xs])`)"),
    gast.Raise: ("`raise` statements", "validate the inputs before calling the "
                 "differentiated function"),
    gast.Assert: ("`assert` statements", "validate the inputs before calling the "
                  "differentiated function"),
    gast.JoinedStr: ("f-strings", "format strings outside the function"),
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
    if kind is gast.Starred:
        raise source.error(
            errors.UnsupportedSyntaxError, node,
            "starred expressions (`*xs`) are supported in calls only; build "
            "the tuple or list with `+` or index it instead")
    if kind in _UNSUPPORTED:
        what, instead = _UNSUPPORTED[kind]
        raise source.error(errors.UnsupportedSyntaxError, node,
                           f"{what} are not supported; {instead}")
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
            target.value, gast.Subscript):
        raise source.error(
            errors.UnsupportedSyntaxError, target,
            "assignment into `x[i][j]` is not supported; write `x[i, j]`, or "
            "take the row into a variable, update it and assign it back")

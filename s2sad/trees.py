"""Fast helpers on gast trees, for the passes that run on every transformation.

`copy.deepcopy`, `gast.dump` and `gast.walk` are general and slow; these do the
three things the passes need, directly.
"""

import ast
import re
import sys

import gast


COPIED = ("lineno", "col_offset", "end_lineno", "end_col_offset",
           "s2sad_builtin", "s2sad_line", "s2sad_note")  # a clone keeps


def clone(node):
    """A deep copy of a gast node (or list of nodes)."""
    if type(node) is list:
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    kind = type(node)
    old = node.__dict__
    new = kind.__new__(kind)  # (the fields are set below, directly)
    fields = new.__dict__
    for field in kind._fields:
        value = old.get(field)
        if type(value) is list:
            value = [clone(item) for item in value]
        elif isinstance(value, gast.AST):
            value = clone(value)
        fields[field] = value
    for attr in COPIED:
        if attr in old:
            fields[attr] = old[attr]
    return new


def children(kind):
    """The fields of nodes of class `kind` that may hold nodes with names
    in them (not a context, an operator, a comparison's operators, nor a
    field that holds an identifier, a number or a flag)."""
    fields = _CHILDREN.get(kind)
    if fields is None:
        fields = _CHILDREN[kind] = tuple(
            f for f in kind._fields if f not in _NO_NODES
            and (f, kind.__name__) not in _NO_NODES_OF)
    return fields


_CHILDREN = {}
_NO_NODES = {"ctx", "op", "ops", "id", "attr", "arg", "type_comment",
             "kind", "level", "module", "conversion", "is_async", "simple"}
_NO_NODES_OF = {("value", "Constant"), ("name", "FunctionDef"),
                ("name", "AsyncFunctionDef"), ("name", "ClassDef"),
                ("name", "alias"), ("asname", "alias"),
                ("name", "MatchAs"), ("name", "MatchStar"),
                ("names", "Global"), ("names", "Nonlocal")}
# list fields that may hold what is not a node (None, a string)
_MIXED_LISTS = {"keys", "kw_defaults", "kwd_attrs", "names"}


def push_children(stack, node):
    """Push the nodes in the `children` fields of `node` onto `stack`."""
    kind = type(node)
    for field in _CHILDREN.get(kind) or children(kind):
        value = getattr(node, field, None)
        if type(value) is list:
            if field in _MIXED_LISTS:
                stack.extend(v for v in value if isinstance(v, gast.AST))
            else:
                stack.extend(value)
        elif isinstance(value, gast.AST):
            stack.append(value)


def same(a, b):
    """Structural equality of two gast nodes."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if not isinstance(a, gast.AST):
        return a == b and type(a) is type(b)
    return all(same(getattr(a, f, None), getattr(b, f, None))
               for f in a._fields)


def _replace_in_function(node, replacement):
    """`replace_names` for a nested function: its defaults are read where
    it is defined, its body with its own names shadowing."""
    args = node.args
    args.defaults = [_replaced(d, replacement) for d in args.defaults]
    args.kw_defaults = [None if d is None else _replaced(d, replacement)
                        for d in args.kw_defaults]
    own = {n.id for n in gast.walk(args) if isinstance(n, gast.Name)}
    body = node.body if isinstance(node.body, list) else [node.body]
    own |= set(names(gast.Module(body=body, type_ignores=[]), gast.Store))
    inner = {k: v for k, v in replacement.items() if k not in own}
    if isinstance(node.body, list):  # (wrapped: a def in it is nested too)
        replace_names(gast.Module(body=node.body, type_ignores=[]), inner)
    else:
        node.body = _replaced(node.body, inner)


def _replaced(expr, replacement):
    if type(expr) is gast.Name and isinstance(expr.ctx, gast.Load) \
            and expr.id in replacement:
        return clone(replacement[expr.id])
    replace_names(expr, replacement)
    return expr


def dotted(node):
    """The names of a dotted name (`np.linalg.norm`: ("np", "linalg",
    "norm")), a gast or an ast node, or None for any other expression."""
    path = []
    while type(node).__name__ == "Attribute":
        path.append(node.attr)
        node = node.value
    if type(node).__name__ != "Name":
        return None
    return (node.id, *reversed(path))


def walk(node):
    """Every node in `node` (a node or a list of them) but contexts and
    operators, each before those in it; `gast.walk` without its queue and
    generic field iteration."""
    stack = list(node) if type(node) is list else [node]
    while stack:
        node = stack.pop()
        yield node
        push_children(stack, node)


def own_nodes(stmt):
    """The nodes of a statement (of gast or ast) that are not in the
    statements it holds."""
    for field, value in ast.iter_fields(stmt):
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, ast.AST) and not isinstance(
                    v, (ast.stmt, ast.excepthandler)):
                yield from ast.walk(v)


def names(node, ctx):
    """Identifiers of the `ctx` (gast.Load or gast.Store) names in `node`."""
    found = []
    stack = [node]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is gast.Name:
            if isinstance(node.ctx, ctx):
                found.append(node.id)
        else:
            push_children(stack, node)
    return found


def replace_names(tree, replacement):
    """Replace every loaded name `n` in `tree` by a clone of `replacement[n]`,
    except inside a nested function where `n` is its own (a parameter or a
    name it assigns). Returns whether it replaced any (outside nested
    functions, which count as changed)."""
    replaced = False
    stack = [tree]
    while stack:
        node = stack.pop()
        if node is not tree and isinstance(node, (gast.FunctionDef,
                                                  gast.Lambda)):
            _replace_in_function(node, replacement)
            replaced = True
            continue
        for field in _CHILDREN.get(type(node)) or children(type(node)):
            value = getattr(node, field, None)
            if type(value) is gast.Name and isinstance(value.ctx, gast.Load) \
                    and value.id in replacement:
                setattr(node, field, clone(replacement[value.id]))
                replaced = True
            elif isinstance(value, gast.AST):
                stack.append(value)
            elif type(value) is list:
                for i, item in enumerate(value):
                    if type(item) is gast.Name and isinstance(
                            item.ctx, gast.Load) and item.id in replacement:
                        value[i] = clone(replacement[item.id])
                        replaced = True
                    elif isinstance(item, gast.AST):
                        stack.append(item)
    return replaced


def unparse(node, constant=None):
    """Python source for a gast node (`ast.unparse`), the same on every
    Python; `constant` as in `to_ast`."""
    text = ast.unparse(to_ast(node, constant))
    if sys.version_info < (3, 11):
        # 3.10 writes tuple targets in parentheses: `(a, b) = f()`
        text = _TUPLE_TARGET.sub(r"\1\2 = ", text)
    return text


def to_ast(node, constant=None):
    """An `ast` tree for printing a gast tree, made in one walk.

    The nodes generated code is made of map field for field (statements
    get a line number: `ast.unparse` reads it for type comments); any
    other (a nested function, a `with`, a comprehension) goes through
    `gast.gast_to_ast`. `constant(value)` may give the ast node to print
    for a number constant instead of the constant (see `codegen`).
    """
    kind = type(node)
    fast = _FAST.get(kind)
    if fast is not None:
        cls, fields = fast
        new = cls(*[_to_ast_field(getattr(node, f, None), constant)
                    for f in fields])
        if cls is ast.Constant and constant is not None:
            return constant(new)
        if issubclass(cls, ast.stmt):
            new.lineno = 1
        return new
    singleton = _SINGLETONS.get(kind)
    if singleton is not None:
        return singleton
    if kind is gast.FunctionDef:  # its signature as gast converts it
        body, node.body = node.body, []
        try:
            new = gast.gast_to_ast(node)
        finally:
            node.body = body
        ast.fix_missing_locations(new)
        new.body = [to_ast(stmt, constant) for stmt in body]
        return new
    new = ast.fix_missing_locations(gast.gast_to_ast(node))
    if constant is not None:
        new = _Constants(constant).visit(new)
    return new


def _to_ast_field(value, constant):
    if type(value) is list:
        return [_to_ast_field(item, constant) for item in value]
    if isinstance(value, gast.AST):
        return to_ast(value, constant)
    return value


class _Constants(ast.NodeTransformer):
    """`to_ast`'s `constant` in a tree `gast.gast_to_ast` made."""

    def __init__(self, constant):
        self.constant = constant

    def visit_Constant(self, node):
        return self.constant(node)


def _fast_kinds():
    """{gast class: (ast class, its fields)} for the node types whose gast
    and ast forms have the same fields (gast's Name has two more)."""
    names = ("Assign AugAssign Expr Return If For While Pass Break Continue "
             "Raise Assert Delete Global Nonlocal BinOp UnaryOp BoolOp "
             "Compare Call keyword Attribute Subscript Slice Tuple List Set "
             "Dict IfExp Starred Name Constant").split()
    kinds = {}
    for name in names:
        cls = getattr(ast, name)
        if all(hasattr(getattr(gast, name), "_fields") and f in getattr(
                gast, name)._fields for f in cls._fields):
            kinds[getattr(gast, name)] = (cls, cls._fields)
    return kinds


_FAST = _fast_kinds()
_SINGLETONS = {getattr(gast, cls.__name__): cls()
               for base in (ast.expr_context, ast.operator, ast.unaryop,
                            ast.cmpop, ast.boolop)
               for cls in base.__subclasses__()
               if hasattr(gast, cls.__name__)}


_TUPLE_TARGET = re.compile(r"^(\s*)\(([\w, ]+)\) = ", re.MULTILINE)

"""Fast helpers on gast trees, for the passes that run on every transformation.

`copy.deepcopy`, `gast.dump` and `gast.walk` are general and slow; these do the
three things the passes need, directly.
"""

import gast


def clone(node):
    """A deep copy of a gast node (or list of nodes)."""
    if isinstance(node, list):
        return [clone(n) for n in node]
    if not isinstance(node, gast.AST):
        return node
    new = type(node)(**{f: clone(getattr(node, f, None)) for f in node._fields})
    for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        if hasattr(node, attr):
            setattr(new, attr, getattr(node, attr))
    return new


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


def names(node, ctx):
    """Identifiers of the `ctx` (gast.Load or gast.Store) names in `node`."""
    found = []
    stack = [node]
    while stack:
        node = stack.pop()
        if type(node) is gast.Name:
            if isinstance(node.ctx, ctx):
                found.append(node.id)
            continue
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, gast.AST):
                stack.append(value)
            elif type(value) is list:
                stack.extend(v for v in value if isinstance(v, gast.AST))
    return found


def replace_names(tree, replacement):
    """Replace every loaded name `n` in `tree` by a clone of `replacement[n]`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is gast.Name and isinstance(value.ctx, gast.Load) \
                    and value.id in replacement:
                setattr(node, field, clone(replacement[value.id]))
            elif isinstance(value, gast.AST):
                stack.append(value)
            elif type(value) is list:
                for i, item in enumerate(value):
                    if type(item) is gast.Name and isinstance(
                            item.ctx, gast.Load) and item.id in replacement:
                        value[i] = clone(replacement[item.id])
                    elif isinstance(item, gast.AST):
                        stack.append(item)

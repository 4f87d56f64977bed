"""Codegen: gast -> Python source (`ast.unparse`) -> compiled code.

Comments cannot live in an AST, so `comment(text)` makes a marker statement
that `to_source` turns into a `# text` line (and `noted(stmt, text)` marks a
statement to be printed after one). `compile_code` compiles the source
under a stable pseudo-filename registered in `linecache` (so tracebacks, pdb
and `inspect.getsource` show the generated code) into a code object whose
free names are closure variables: `derive` binds them to the user's closure
cells and to s2sad's own names (`runtime`, `np` when the user did not import
it), and makes the user's module dict the function's globals, so nothing is
written into the user's module. Given the tree it printed and where that
came from, it also records the function's line map (`errors.map_lines`): the
user's line each printed line comes from, read from the `s2sad_line` the
passes leave on statements (see `located`).

A warning Python gives while compiling generated code (a SyntaxWarning
such as "'float' object is not subscriptable") is a bug of the generator,
which the user can do nothing about, or one Python gave already when it
compiled the user's file (`x is 1`, copied): it is not shown, unless
`STRICT` is set (as the test suite does), which makes it an
`S2SADInternalError`.
"""

import ast
import contextlib
import hashlib
import math
import re
import types
import warnings

import gast

from s2sad import errors, trees

STRICT = False  # warnings while compiling generated code are errors

_COMMENT = "\x00s2sad-comment:"
_COMMENT_LINE = re.compile(r"^(\s*)(['\"])\\x00s2sad-comment:(.*)\2$",
                           re.MULTILINE)


def comment(text):
    """A statement that prints as `# text`."""
    return gast.Expr(gast.Constant(_COMMENT + text, None))


def noted(stmt, text):
    """`stmt`, to be printed after a `# text` line (which goes where it
    goes, and with it when a pass removes it). Returns stmt."""
    stmt.s2sad_note = text
    return stmt


def located(stmt, node):
    """Mark the generated statement `stmt` as coming from the user's `node`
    (a node of the tree being transformed): its lines and those after it,
    up to the next marked one, map to the node's line. Returns stmt."""
    line = getattr(node, "lineno", None)
    if line is not None:
        # a helper's statement inlined: the calls it is reached through too
        stmt.s2sad_line = (*node.s2sad_via, line) \
            if hasattr(node, "s2sad_via") else line
    return stmt


def is_comment(stmt):
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and isinstance(stmt.value.value, str)
            and stmt.value.value.startswith(_COMMENT))


def to_source(tree):
    """Python source for a gast FunctionDef, comments included."""
    _place_notes(tree.body)
    text = trees.unparse(tree, _signed) + "\n"
    return _COMMENT_LINE.sub(lambda m: f"{m.group(1)}# {_unescape(m.group(3))}",
                             text)


def _place_notes(stmts):
    """Put each `noted` statement's note before it, as a comment."""
    i = 0
    while i < len(stmts):
        stmt = stmts[i]
        text = stmt.__dict__.pop("s2sad_note", None)
        if text is not None:
            stmts.insert(i, comment(text))
            i += 1
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                _place_notes(inner)
        for handler in getattr(stmt, "handlers", ()):
            _place_notes(handler.body)
        i += 1


def _signed(node):
    """A negative number constant (an `ast.Constant`) as `-(number)`: a
    printer prints a constant as it is, so `Constant(-1.0) ** 2` would read
    back as `-(1.0 ** 2)`."""
    value = node.value
    if type(value) in (int, float) and math.copysign(1, value) < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    if type(value) is complex:  # printed bare: -1j, (1+2j)
        negative = math.copysign(1, value.imag) < 0
        imaginary = ast.Constant(complex(0.0, abs(value.imag)))
        if value.real:
            return ast.BinOp(_signed(ast.Constant(value.real)),
                             ast.Sub() if negative else ast.Add(), imaginary)
        if negative:
            return ast.UnaryOp(ast.USub(), imaginary)
    return node


def _unescape(text):
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def compile_code(text, name, free, tree=None, origin=None, closure=True):
    """Compile the generated source of one `def name(...)`.

    Args:
        free: the names that are closure variables of the function (the
            user's closure cells and s2sad's own names); any other free name
            is a global of the user's module. Without `closure`, every free
            name is a global (of a namespace made for it: a kernel's, as
            Numba reads globals).
        tree: the gast FunctionDef `text` was printed from (`to_source`),
            and origin: (file, line of the tree's line 1) of the function it
            was generated from: they give the line map.

    Returns:
        The code object of `name`.
    """
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    filename = f"<s2sad:{name}:{digest}>"
    errors.register_source(filename, text)
    with _compiling(filename):
        inner = ast.parse(text, filename)
    if tree is not None:
        origin_file, first_line = origin
        errors.map_lines(filename, origin_file, [
            tuple(first_line + n - 1 for n in line)
            if isinstance(line, tuple) else first_line + line - 1
            for line in _line_map(tree, inner.body[0], text.count("\n") + 1)])
    if not closure:
        with _compiling(filename):
            code = compile(inner, filename, "exec")
        return next(c for c in code.co_consts
                    if isinstance(c, types.CodeType) and c.co_name == name)
    free = sorted(free)
    function = inner.body[0]
    if name not in free and len(re.findall(
            rf"\b{name}\b", text)) > 1 and any(  # (more than the def)
            isinstance(node, ast.Name) and node.id == name
            for node in ast.walk(function)):
        # the user's global of the same name (`grad_f = 1.5` read by f):
        # not the function itself, which `_s2sad_outer` would make it
        glob = ast.Global(names=[name])
        ast.copy_location(glob, function.body[0])
        function.body.insert(1 if ast.get_docstring(function) else 0, glob)
    return closure_code(inner.body, name, free, filename)


def closure_code(body, name, free, filename):
    """The code object of the function `name` that `body` (parsed
    statements, its `def` among them) defines, compiled under `filename`
    with the names `free` as its closure variables: `def _s2sad_outer():
    runtime = None; def name(...): ...; return name` makes them cells."""
    outer = ast.parse(
        "def _s2sad_outer():\n" + "".join(f"    {n} = None\n" for n in free)
        + f"    return {name}", filename).body[0]
    outer.body[len(free):len(free)] = body
    module = ast.fix_missing_locations(ast.Module(body=[outer],
                                                  type_ignores=[]))
    with _compiling(filename):
        code = compile(module, filename, "exec")
    outer_code = next(c for c in code.co_consts
                      if isinstance(c, types.CodeType))
    return next(c for c in outer_code.co_consts
                if isinstance(c, types.CodeType) and c.co_name == name)


@contextlib.contextmanager
def _compiling(filename):
    """Parsing or compiling the generated code in `filename`: the warnings
    Python gives kept from the user (see `STRICT`)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if caught and STRICT:
        warning = caught[0]
        raise errors.S2SADInternalError(
            f"compiling the generated code gives {warning.category.__name__}"
            f" at line {warning.lineno}: {warning.message}\n"
            f"{errors.numbered_lines(filename)}", filename, warning.lineno)


def _line_map(tree, printed, count):
    """For each of the `count` printed lines of `tree` (the gast
    FunctionDef) parsed back as `printed` (an ast FunctionDef, comments
    gone), the tree line it comes from: a statement's own mark
    (`located`), else that of the statement printed before it."""
    lines = [1] * count  # the def's line, until a statement is marked
    current = [1]

    def walk(stmts, nodes, nested=False):
        nodes = iter(nodes)
        for stmt in stmts:
            current[0] = getattr(stmt, "s2sad_line", current[0])
            if nested and hasattr(stmt, "lineno"):
                # a statement of the user's nested function, as written
                located(stmt, stmt)
                current[0] = stmt.s2sad_line
            if is_comment(stmt):
                continue
            node = next(nodes, None)
            if node is None or type(node).__name__ != type(stmt).__name__:
                raise ValueError("the printed code differs from its tree")
            for line in range(node.lineno, node.end_lineno + 1):
                lines[line - 1] = current[0]
            inside = nested or isinstance(stmt, (gast.FunctionDef,
                                                 gast.AsyncFunctionDef))
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list):
                    walk(inner, getattr(node, field), inside)
            for handler, parsed in zip(getattr(stmt, "handlers", ()),
                                       getattr(node, "handlers", ())):
                walk(handler.body, parsed.body, inside)

    try:
        walk(tree.body, printed.body)
    except ValueError:  # never expected; the function's line then
        return [1] * count
    return lines

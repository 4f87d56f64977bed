"""Codegen: gast -> Python source (`ast.unparse`) -> a live function.

Comments cannot live in an AST, so `comment(text)` makes a marker statement
that `to_source` turns into a `# text` line. `compile_function` compiles the
source under a stable pseudo-filename registered in `linecache` (so tracebacks,
pdb and `inspect.getsource` show the generated code) and binds its free names:
the user's module globals stay live (the function's `__globals__` is the
user's module dict), the user's closure cells are shared, and s2sad's own
names (`runtime`, `np` when the user did not import it) are closure cells of
the generated function, so nothing is written into the user's module.
"""

import ast
import hashlib
import math
import re
import types

import gast

from s2sad import frontend, trees

_COMMENT = "\x00s2sad-comment:"
_COMMENT_LINE = re.compile(r"^(\s*)(['\"])\\x00s2sad-comment:(.*)\2$",
                           re.MULTILINE)


def comment(text):
    """A statement that prints as `# text`."""
    return gast.Expr(gast.Constant(_COMMENT + text, None))


def is_comment(stmt):
    return (isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant)
            and isinstance(stmt.value.value, str)
            and stmt.value.value.startswith(_COMMENT))


def to_source(tree):
    """Python source for a gast FunctionDef, comments included."""
    tree = _NegativeNumbers().visit(tree)  # the same values, in place
    text = trees.unparse(tree) + "\n"
    return _COMMENT_LINE.sub(lambda m: f"{m.group(1)}# {_unescape(m.group(3))}",
                             text)


class _NegativeNumbers(gast.NodeTransformer):
    """A negative number constant as `-(number)`: a printer prints a
    constant as it is, so `Constant(-1.0) ** 2` would read back as
    `-(1.0 ** 2)`."""

    def visit_Constant(self, node):
        value = node.value
        if type(value) in (int, float) and math.copysign(1, value) < 0:
            return gast.UnaryOp(gast.USub(), gast.Constant(-value, None))
        if type(value) is complex:  # printed bare: -1j, (1+2j)
            negative = math.copysign(1, value.imag) < 0
            imaginary = gast.Constant(complex(0.0, abs(value.imag)), None)
            if value.real:
                return gast.BinOp(
                    self.visit_Constant(gast.Constant(value.real, None)),
                    gast.Sub() if negative else gast.Add(), imaginary)
            if negative:
                return gast.UnaryOp(gast.USub(), imaginary)
        return node


def _unescape(text):
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def compile_function(text, name, user_globals, cells, imports):
    """Compile generated source into a function.

    Args:
        text: the source of one `def name(...)`.
        user_globals: the user's module dict (the function's globals).
        cells: the user's closure cells, by name.
        imports: name -> object for s2sad's own free names.
    """
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    filename = f"<s2sad:{name}:{digest}>"
    frontend.register_source(filename, text)
    inner = ast.parse(text, filename)
    free = sorted(set(imports) | set(cells))
    # def _outer(): runtime = ...; def name(...): ...; return name
    # makes `imports` closure variables of `name` without touching globals.
    outer = ast.parse(
        "def _s2sad_outer():\n" + "".join(f"    {n} = None\n" for n in free)
        + f"    return {name}", filename).body[0]
    outer.body[len(free):len(free)] = inner.body
    module = ast.Module(body=[outer], type_ignores=[])
    code = compile(module, filename, "exec")
    outer_code = next(c for c in code.co_consts
                      if isinstance(c, types.CodeType))
    inner_code = next(c for c in outer_code.co_consts
                      if isinstance(c, types.CodeType) and c.co_name == name)
    closure = []
    for var in inner_code.co_freevars:
        closure.append(types.CellType(imports[var]) if var in imports
                       else cells[var])
    return types.FunctionType(inner_code, user_globals, name, None,
                              tuple(closure))

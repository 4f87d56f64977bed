"""Frontend: from a live Python function to a parsed, located, resolved tree.

`parse(func)` retrieves the source with `inspect`, dedents it, parses it with
`gast`, drops decorators and returns a `Source`: the `gast.FunctionDef`, where
every node's line number maps back to the user's file, and a resolver that
turns every free name (closure cells, module globals, builtins) into the live
object it denotes right now.
"""

import __future__
import ast
import builtins
import contextlib
import dis
import functools
import inspect
import linecache
import operator
import re
import sys
import textwrap
import types
import warnings
import weakref

import gast
import numpy as np

from s2sad import errors, trees

_MISSING = object()


class Source:
    """A parsed function plus what is needed to locate and resolve its names.

    Attributes:
        func: the live function (None for source parsed from text).
        tree: the `gast.FunctionDef`, decorators removed.
        filename: the user's file, for error messages.
        first_line: the file line of the tree's line 1.
        lines: the dedented source lines (tree line numbering).
        globals: the function's module namespace.
        cells: closure variable name -> cell.
        resolved: every free or dotted name looked up, as a tuple path
            (`("np", "tanh")`) -> the object it denoted: what a generated
            derivative is built on, and its guard checks (see `derive`).
    """

    def __init__(self, func, tree, filename, first_line, lines, globals_, cells):
        self.func = func
        self.tree = tree
        self.filename = filename
        self.first_line = first_line
        self.lines = lines
        self.globals = globals_
        self.cells = cells
        self.resolved = {}
        self._assigned = None  # the names the body assigns (`own_method`)

    @property
    def name(self):
        return self.tree.name

    @property
    def generated(self):
        """Is this code s2sad generated (a derivative differentiated
        again)?"""
        return errors.in_memory(self.filename)

    def lineno(self, node):
        """The user's file line of a gast node (or None)."""
        line = getattr(node, "lineno", None)
        return None if line is None else line + self.first_line - 1

    def line_text(self, node):
        """The stripped source text of the line a node starts on (a node
        of an inlined helper carries its own)."""
        text = getattr(node, "s2sad_text", None)
        if text is not None:
            return text
        line = getattr(node, "lineno", None)
        if line is None or not 0 < line <= len(self.lines):
            return ""
        return self.lines[line - 1].strip()

    def where(self, node):
        """`file:line` of a node, for messages generated code shows: the
        user's, when this is generated code (see `errors.user_location`)."""
        filename, line = errors.user_location(
            self.filename, self.lineno(node) or self.first_line)
        return f"{filename}:{line}"

    def located(self, node, message):
        """`file:line: message` at a node, for a message generated code
        gives when it runs (`errors.locate` names a notebook's cell as
        IPython does when the error is raised)."""
        return f"{self.where(node)}: {message}"

    def own_method(self, func):
        """Is the callee `func` `self.name`, `self` the first parameter
        (never assigned) of a method of a class of the user's (the function
        is the class's attribute of its name) that has a method `name`
        (plain, static or class)? Then `self.round(x)`, `self.get(k)`,
        `self.update(z)` are the user's, whatever NumPy's or a dict's
        method of that name would mean."""
        if not (isinstance(func, gast.Attribute) and isinstance(
                func.value, gast.Name) and self.tree is not None):
            return False
        args = self.tree.args
        first = (args.posonlyargs + args.args)[:1]
        if self._assigned is None:
            self._assigned = {n.id for n in trees.walk(self.tree.body)
                              if isinstance(n, gast.Name) and
                              not isinstance(n.ctx, gast.Load)}
        if not first or first[0].id != func.value.id or \
                func.value.id in self._assigned:
            return False
        owner = _owner_class(self.func)
        member = None if owner is None else inspect.getattr_static(
            owner, func.attr, None)
        return isinstance(member, (types.FunctionType, staticmethod,
                                   classmethod))

    def error(self, cls, node, message):
        """Build an S2SADError of class `cls` located at `node`."""
        return cls(message, self.filename, self.lineno(node) or self.first_line)

    def lookup(self, name):
        """The live object a free name denotes, or `_MISSING`."""
        return self._record((name,), self._lookup(name))

    def _lookup(self, name):
        cell = self.cells.get(name)
        if cell is not None:
            try:
                return cell.cell_contents
            except ValueError:  # an unassigned closure cell
                return _MISSING
        if name in self.globals:
            return self.globals[name]
        return getattr(builtins, name, _MISSING)

    def resolve(self, expr):
        """Statically resolve a dotted name (`np.linalg.norm`) to its object.

        Returns `_MISSING` when `expr` is not a dotted name of free names.
        """
        path = trees.dotted(expr)
        if path is None:
            return _MISSING
        return self._record(path, self.resolve_path(path))

    def resolve_path(self, path):
        """The live object the dotted name `path` (`("np", "tanh")`)
        denotes, or `_MISSING`; not recorded."""
        value = self._lookup(path[0])
        for attr in path[1:]:
            if value is _MISSING:
                break
            try:
                value = getattr(value, attr, _MISSING)
            except Exception:  # a property that raises
                value = _MISSING
        return value

    def unresolved(self, expr):
        """What is missing of the dotted name `expr` that `resolve` did not
        find: the name, or the attribute its object lacks (`XT.T` of a
        list XT, where Python raises AttributeError)."""
        path = trees.dotted(expr)
        for end in range(len(path) - 1, 0, -1):
            value = self.resolve_path(path[:end])
            if value is not _MISSING:
                kind = f"the module {value.__name__}" if isinstance(
                    value, types.ModuleType) else f"a {type(value).__name__}"
                return (f"`{'.'.join(path)}`: `{'.'.join(path[:end])}` is "
                        f"{kind}, which has no attribute `{path[end]}`")
        return f"name '{'.'.join(path)}' is not defined"

    def record_absent(self, expr):
        """Record that the dotted name `expr` is not defined: the code
        generated raises where it is read (see `ssa`), while it is not."""
        self.resolved[trees.dotted(expr)] = _MISSING

    def _record(self, path, value):
        if value is not _MISSING:
            self.resolved[path] = value
        return value


def _owner_class(func):
    """The class of the user's whose method `func` is (defined in its
    body at module level, and still its attribute of that name), or
    None."""
    path = getattr(func, "__qualname__", "").split(".")
    if len(path) < 2 or "<locals>" in path:
        return None
    owner = getattr(func, "__globals__", {}).get(path[0])
    for part in path[1:-1]:
        owner = getattr(owner, part, None)
    if not isinstance(owner, type):
        return None
    member = inspect.getattr_static(owner, path[-1], None)
    return owner if getattr(member, "__func__", member) is func else None


def is_missing(value):
    return value is _MISSING


def parse(func):
    """Parse a live function into a `Source`.

    Raises:
        SourceUnavailableError: for built-ins, lambdas, and functions defined
            where `inspect` cannot find source (the REPL, `exec`).
    """
    code = getattr(func, "__code__", None)
    if code is None:
        raise errors.SourceUnavailableError(
            f"cannot differentiate {func!r}: it is not a Python function "
            "with source code; wrap it in a `def` or give it a rule with "
            "s2sad.adjoint")
    known = _read(code) or _read_source(func, code)
    if _TEXTS:
        _TEXTS[-1][code] = known
    return parse_source(*known, func.__globals__, dict(zip(
        code.co_freevars, func.__closure__ or ())), func=func)


def _read_source(func, code):
    """(text, filename, first line) of `func`'s code, read now from its
    file or linecache, checked to be the code that runs, and remembered."""
    filename = code.co_filename
    errors.restore_source(filename)
    try:
        # from the code object, through a function of it made here: the
        # function itself would be unwrapped (`functools.wraps` sets
        # __wrapped__), giving the wrapped function's source for the
        # wrapper's code, and for the code object alone inspect finds the
        # module by searching every loaded one for its file (12 ms, the
        # first time in a process)
        lines, first_line = inspect.getsourcelines(types.FunctionType(
            code, func.__globals__, None, None, func.__closure__))
    except (OSError, TypeError) as exc:
        # a function whose code names no file it can be read from, though
        # its module has one: a method of a class of the user's script that
        # dask.distributed's pickling made again, in "<dynamic-code>"
        module_file = func.__globals__.get("__file__")
        if isinstance(module_file, str) and module_file != filename and \
                linecache.getlines(module_file):
            moved = code.replace(co_filename=module_file)
            text, _, first_line = _read_source(
                types.FunctionType(moved, func.__globals__, func.__name__,
                                   func.__defaults__, func.__closure__),
                moved)
            remember(code, (text, module_file, first_line))
            return text, module_file, first_line
        raise errors.SourceUnavailableError(
            f"cannot read the source of {func.__qualname__} ({exc}); s2sad "
            "needs functions defined in a file (not the REPL or exec)",
            filename, code.co_firstlineno) from None
    text = "".join(lines)
    if code.co_name == "<lambda>":
        text = _lambda_as_def(func, text, filename, first_line)
    elif not errors.in_memory(filename):  # (s2sad's own text is fixed)
        _check_unchanged(code, text, func.__globals__)
    remember(code, (text, filename, first_line))
    return text, filename, first_line


# The text each code object was read from, by identity (equal code objects
# of two notebook cells are two entries), while the code object lives: the
# text of the code that runs, checked when read. A derivative made again
# (a helper redefined, a part made when first needed) reads it, not the
# file or cell as it may be since (edited, or cleared from linecache).
_READ = {}  # id(code) -> (weak reference to it, (text, filename, line))
_TEXTS = []  # see `texts`


def remember(code, read):
    """Keep `read`, (text, filename, first line), as the source of `code`."""
    def forget(_, key=id(code)):
        _READ.pop(key, None)
    _READ[id(code)] = (weakref.ref(code, forget), read)


def _read(code):
    entry = _READ.get(id(code))
    return entry[1] if entry is not None and entry[0]() is code else None


@contextlib.contextmanager
def texts(known):
    """Record in `known` (code -> (text, filename, first line)) the source
    of each function parsed meanwhile (what a disk entry keeps, see
    `derive`)."""
    _TEXTS.append(known)
    try:
        yield known
    finally:
        _TEXTS.pop()


def _check_unchanged(code, text, namespace):
    """Refuse source text that is not the code Python runs: a file edited
    after it was imported (inspect reads the file as it is now, at the line
    the code started on). The text must compile to the same function: the
    same parameters, constants and instructions."""
    try:
        compiled = _compile_as_loaded(textwrap.dedent(text), code, namespace)
    except SyntaxError:  # `nonlocal` of an enclosing function: unverifiable
        return
    found = next((c for c in compiled.co_consts if isinstance(c, type(code))
                  and c.co_name == code.co_name), None)
    if found is None or not _same_code(code, found):
        raise errors.SourceUnavailableError(
            f"the source of {code.co_name} in {code.co_filename} has changed "
            "since Python loaded it, and s2sad differentiates the code that "
            "runs: reload the module (importlib.reload) or run the cell or "
            "script again", code.co_filename, code.co_firstlineno)


def _compile_as_loaded(text, code, namespace):
    """`text` compiled as the module holding `code` was: a test module that
    pytest imported had its `assert` statements rewritten, and is compared
    with the text rewritten the same way."""
    flags = code.co_flags & _FUTURE_FLAGS
    loader = namespace.get("__loader__")
    with _quietly():
        if type(loader).__module__ == "_pytest.assertion.rewrite":
            from _pytest.assertion import rewrite  # loaded it: importable
            tree = ast.parse(text, code.co_filename)
            rewrite.rewrite_asserts(tree, text.encode(), code.co_filename,
                                    getattr(loader, "config", None))
            return compile(tree, code.co_filename, "exec", flags=flags,
                           dont_inherit=True)
        return compile(text, code.co_filename, "exec", flags=flags,
                       dont_inherit=True)


@contextlib.contextmanager
def _quietly():
    """Warnings off, while s2sad parses or compiles the user's text again:
    Python gave them when it compiled the user's file (a SyntaxWarning of
    `x is 1`), and s2sad's would repeat them at the wrong line, the text
    being the function's alone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


_FUTURE_FLAGS = functools.reduce(operator.or_, (
    getattr(__future__, name).compiler_flag
    for name in __future__.all_feature_names))


def _same_code(code, other):
    """Does `other`, compiled from the text on its own, show the same
    function as `code`: parameters, constants and instructions? Code that
    reads enclosing functions' variables (or `super()`'s `__class__`)
    compiles differently on its own: its instructions are not compared."""
    count = code.co_argcount + code.co_kwonlyargcount
    flags = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
    if code.co_varnames[:count] != other.co_varnames[:count] or \
            code.co_flags & flags != other.co_flags & flags or \
            len(code.co_consts) != len(other.co_consts):
        return False
    for mine, theirs in zip(code.co_consts, other.co_consts):
        if isinstance(mine, type(code)):
            if not (isinstance(theirs, type(code))
                    and _same_code(mine, theirs)):
                return False
        elif repr(mine) != repr(theirs) and not (
                isinstance(mine, str) and isinstance(theirs, str)
                and (inspect.cleandoc(mine) == inspect.cleandoc(theirs)
                     or _same_qualname(mine, theirs))):
            return False  # (a docstring loses its indent with the text's)
    if code.co_freevars:
        return True
    if _units(code) == _units(other) and all(
            getattr(code, table) == getattr(other, table)
            for table in ("co_names", "co_varnames", "co_cellvars")):
        return True  # the same instructions on the same names, at once
    return _instructions(code) == _instructions(other)


def _same_qualname(mine, theirs):
    """Python 3.10 keeps the qualified name of a function or comprehension
    nested in a nested function among its constants: the text compiled
    on its own names it from that function (`forward.<locals>.<listcomp>`),
    the code that runs from the enclosing ones (`make.<locals>.forward...`).
    """
    return ".<locals>." in theirs and mine.endswith("." + theirs)


def _units(code):
    """`code`'s instructions as (opcodes, arguments) bytes, as
    `_instructions` compares them before it resolves the arguments: no
    inline caches, a method call read as an attribute read, no jump
    offsets (they move with the caches), no flags beside names."""
    units = np.frombuffer(code.co_code, np.uint8).reshape(-1, 2)
    if _CACHE is not None:
        units = units[units[:, 0] != _CACHE]
    units = units.copy()
    units[np.isin(units[:, 0], _JUMP_CODES), 1] = 0
    # (the flag in a name's index that pushes NULL or loads a method)
    units[np.isin(units[:, 0], _FLAGGED), 1] &= 0xFE
    return units[:, 0].tobytes().translate(_METHOD_AS_ATTR), \
        units[:, 1].tobytes()


# reads of a free name: a global on its own, a cell where it was written;
# a method call on a name the module imports is an attribute read (3.11)
_LOADS = {**dict.fromkeys(("LOAD_DEREF", "LOAD_GLOBAL", "LOAD_NAME",
                           "LOAD_CLASSDEREF"), "LOAD_FREE"),
          "LOAD_METHOD": "LOAD_ATTR"}
_SKIPPED = {"PUSH_NULL", "COPY_FREE_VARS", "RESUME", "NOP", "EXTENDED_ARG",
            "CACHE"}
# (pseudo-instructions, numbered from 256 on 3.12+, are never in co_code)
_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
_JUMP_CODES = np.array(sorted(op for op in _JUMPS if op < 256), np.uint8)
_CACHE = dis.opmap.get("CACHE")  # (3.11 on)
_FLAGGED = np.array([dis.opmap[name] for name, since in (
    ("LOAD_GLOBAL", (3, 11)), ("LOAD_ATTR", (3, 12)))
    if sys.version_info >= since], np.uint8)
_METHOD_AS_ATTR = bytes.maketrans(
    bytes([dis.opmap["LOAD_METHOD"]]), bytes([dis.opmap["LOAD_ATTR"]])) \
    if dis.opmap.get("LOAD_METHOD", 256) < 256 else None
_MANGLED = re.compile(r"^_[A-Za-z0-9]\w*?(__\w+)$")  # `_Model__w` in a class


def _instructions(code):
    out = []
    for ins in dis.get_instructions(code):
        if ins.opname in _SKIPPED:
            continue
        arg = ins.argval
        if ins.opcode in _JUMPS or isinstance(arg, type(code)):
            arg = None  # targets move with skipped instructions
        elif isinstance(arg, str):
            arg = _MANGLED.sub(r"\1", arg)
        out.append((_LOADS.get(ins.opname, ins.opname), repr(arg)))
    return tuple(out)


_CLAUSES = [("", ""), ("", "\nexcept BaseException:\n    pass\n"),
            ("if 1:\n    pass\n", ""), ("try:\n    pass\n", ""),
            ("try:\n    pass\n", "\nfinally:\n    pass\n")]


def _lambda_as_def(func, text, filename, first_line):
    """The source of a lambda, written as the `def` it stands for (on the
    lambda's line, so locations stay right)."""
    code = func.__code__
    line = code.co_firstlineno - first_line + 1
    module = None
    text = textwrap.dedent(text)
    # the lambda's lines, as they parse: alone, or as the part of a compound
    # statement they are (`try: y = grad(lambda x: ...)(1.0)`, `else: ...`)
    for before, after in _CLAUSES:
        try:
            with _quietly():
                module = gast.parse(before + text + after)
        except SyntaxError:
            continue
        line += before.count("\n")
        break
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found = [] if module is None else _lambdas_at(module, line, params)
    if module is None:
        # a line of a statement written over several lines (`grad(\n
        # lambda w: ...)`, a dict's item): the lambda in the statement, as
        # the whole file parses
        line = code.co_firstlineno - first_line + 1
        try:
            with _quietly():
                whole = gast.parse("".join(linecache.getlines(filename)))
        except (SyntaxError, ValueError):
            whole = None
        if whole is not None:
            found = _lambdas_at(whole, code.co_firstlineno, params)
    if len(found) != 1:
        raise errors.SourceUnavailableError(
            "cannot single out this lambda in its source line; define the "
            "function with `def`", filename, code.co_firstlineno)
    lam = found[0]
    definition = gast.FunctionDef(
        f"lambda_{code.co_firstlineno}", lam.args,
        [gast.copy_location(gast.Return(lam.body), lam)], [], None, None, [])
    gast.copy_location(definition, lam)
    source = trees.unparse(definition) + "\n"
    # put the def on the lambda's line, its body on the same line
    return "\n" * (line - 1) + source.replace("\n    ", " ", 1)


def _lambdas_at(module, line, params):
    """The lambdas of `module` starting on `line` with these parameters."""
    return [n for n in gast.walk(module) if isinstance(n, gast.Lambda)
            and n.lineno == line
            and [a.id for a in n.args.args + n.args.kwonlyargs] == params]


def parse_source(text, filename="<string>", first_line=1, globals_=None,
                 cells=None, func=None):
    """Parse the text of one function definition into a `Source`."""
    text = textwrap.dedent(text)
    try:
        with _quietly():
            module = gast.parse(text)
    except SyntaxError as exc:
        raise errors.UnsupportedSyntaxError(
            f"cannot parse the function source: {exc.msg}", filename,
            first_line + (exc.lineno or 1) - 1) from None
    defs = [n for n in module.body if isinstance(n, gast.FunctionDef)]
    if not defs and module.body and isinstance(module.body[0],
                                               gast.AsyncFunctionDef):
        raise errors.UnsupportedSyntaxError(
            "async functions are not supported; use a plain function",
            filename, first_line)
    if not defs:
        kind = type(module.body[0]).__name__ if module.body else "nothing"
        raise errors.UnsupportedSyntaxError(
            f"expected a function definition, found {kind}", filename, first_line)
    tree = defs[0]
    tree.decorator_list = []
    if globals_ is None:
        globals_ = {}
    return Source(func, tree, filename, first_line, text.splitlines(),
                  globals_, cells or {})

"""Command line: the code s2sad generates for the functions in a file,
printed, or written as a module to import.

    s2sad FILE [NAME ...] [--mode reverse|forward] [--argnums [NAME=]0,1]
               [--stage ssa|grad] [--no-optimize]
               [-o OUT [--standalone] [--module NAME] [--force]]
    s2sad --clear-cache
    s2sad --version

FILE is imported under a module name other than `__main__`, so its
`if __name__ == "__main__":` block does not run; it sees `sys.argv` as
`[FILE]` (a script that parses its arguments when imported gets none, as
under `python FILE`); what it prints while it is imported goes to
stderr, so that stdout holds only the generated code.

Without NAMEs, every top-level function defined in FILE that takes
positional arguments (or `*args`) is transformed, in source order. A NAME
may be a method, `Class.method`; naming a function that takes no
positional arguments is refused. A name denotes what `s2sad.grad` would
take: one that `@s2sad.grad` decorates is that derivative (its own
derivative is generated, as `s2sad.grad(name)` gives it), one a
`functools.wraps` decorator made is the wrapper, whose parameters are
those of the function it wraps. The printed code of a function that
takes `*args` (such a wrapper too) gives the gradient of the whole tuple;
the function a module written with -o gives for it picks the items
argnums name, as `s2sad.grad` does.

Argnums count the arguments as a call of NAME counts them: those of
`Class.method` start after `self` (or `cls`), as those of a bound method
in `s2sad.grad(obj.method)` do. Which positional parameters each
function is differentiated with respect to, first rule that applies:

1. `--argnums NAME=0,1` for the function NAME (the option may be repeated
   for different functions; naming one twice is refused);
2. `--argnums 0,1` for every function (given once);
3. `ARGNUMS[NAME]`, if FILE defines a dict `ARGNUMS` at its top level
   (each key must name a function or method of FILE);
4. otherwise, every positional parameter except those that are data as
   far as the function's source shows: one whose default value is an int
   (or a bool) or a function, or that is annotated `int`, a function (a
   parameter that is called, `act(w)`), and a count. Following a
   parameter's value through integer arithmetic (`+ - * // %`, `int()`)
   and assignments, a count is a parameter that reaches an argument of
   `range(...)` (which takes ints only), an index or slice bound (`xs[i +
   1]`, `xs[:n]`, `p[rows, labels]`: an int or a mask, never a float), a
   shape, axis, count or seed of NumPy's (`np.eye(k)`, `axis=axis`,
   `x.reshape(n, -1)`, `np.where(mask, ...)`), or a parameter of a
   function of FILE that is data there (a helper's loop count), or whose
   every use is a test (`if use_bias:`), a comparison with a string or
   with a loop counter (`while i < n`, with `i` set to ints and stepped by
   ints), or an index through `int()`. A parameter such as a loop count
   is then not differentiated, which
   keeps the float fast path. If no parameter is left, all of them are
   differentiated; a function that only takes `*args` is differentiated
   with respect to its first argument, as `s2sad.grad` is by default.

Argnums that name no parameter of the function are refused, naming the
option or the `ARGNUMS` entry they come from.

Without -o, the generated code is printed. A reader that stops early
(`s2sad FILE | head`) ends the output quietly. `-o OUT` writes a module
that can be imported (see `s2sad.aot`): the generated functions (`grad_f`,
or `jvp_f` in forward mode, listed in its `__all__`) with every generated
function they call, the imports and constants they read, and FILE's module,
which it imports (by FILE's path relative to OUT, or by module name with
`--module NAME`; a dotted NAME, `pkg.model`, is FILE's module in its
package, which s2sad imports by that name too, so that FILE may import its
siblings relatively) for the globals the code reads when it runs. It is a
snapshot (of the code, and of the closure variables it reads), without
the checks that keep in-process derivatives fresh: write it again after
changing FILE. `--standalone` also copies into it the s2sad helpers the
code calls, so that it runs without s2sad (only NumPy and FILE's module);
a function whose derivative needs s2sad's engine when it runs (a call of
a function passed as an argument) is then refused. With `--stage ssa`,
OUT gets the SSA text.

OUT is written only over a file s2sad wrote before (its first line says
so): writing over FILE or over any other existing file is refused unless
`--force` is given.

Exit status: 0 on success; 1 if any function could not be transformed (one
`file:line: message` line per function on stderr; the others are written),
a NAME does not exist or takes no arguments, or FILE has no function to
transform; 2 for bad arguments (argnums that name no parameter or no
function transformed, an `ARGNUMS` that is not a dict of argnums
included), a FILE that is missing,
a directory or cannot be imported, an OUT that cannot be written or that
is refused.
"""

import argparse
import ast
import builtins
import contextlib
import importlib.util
import inspect
import os
import pathlib
import shlex
import sys
import textwrap
import traceback

import s2sad
from s2sad import aot, diskcache, errors


def main(argv=None):
    """Run the command line with `argv` (default: sys.argv[1:]).

    Returns:
        The exit status.
    """
    if argv is None:
        argv = sys.argv[1:]
    parser = _parser()
    args = parser.parse_intermixed_args(argv)  # NAMEs after options too
    if args.clear_cache:
        removed = diskcache.clear()
        print(f"s2sad: removed {removed} entries from {diskcache.directory()}")
        if args.file is None:
            return 0
    if args.file is None:
        parser.error("the following arguments are required: FILE")
    if args.output is None and (args.standalone or args.module):
        parser.error("--standalone and --module write a module: give -o OUT")
    refusal = _refusal(args)
    if refusal is not None:
        print(f"s2sad: {refusal}", file=sys.stderr)
        return 2
    try:
        module = _import_file(args.file, args.module)
        from_file = _file_argnums(module)
        functions, bound = _select(module, args.names)
        argnums = _argnums_table(functions, bound, args.argnums, from_file)
    except ImportError as err:
        print(_one_line(str(err)), file=sys.stderr)
        return 2
    except ArgnumsError as err:
        where = "s2sad: " if err.filename is None else ""
        print(where + _one_line(str(err)), file=sys.stderr)
        return 2
    except LookupError as err:
        print(f"{args.file}: {err.args[0]}", file=sys.stderr)
        return 1
    except s2sad.S2SADError as err:
        print(_one_line(str(err)), file=sys.stderr)
        return 1
    if not functions:
        print(f"{args.file}: no function to transform (none defined at its "
              "top level takes arguments)", file=sys.stderr)
        return 1
    if args.output is not None and args.stage == "grad":
        try:
            text, failures = aot.module_source(
                list(functions.values()), module, args.output,
                mode=args.mode, argnums=argnums.__getitem__,
                optimize=not args.no_optimize, standalone=args.standalone,
                module_name=args.module,
                command=shlex.join(["s2sad", *argv]),
                names={f: n for n, f in functions.items()
                       if n.isidentifier()}.get)
        except s2sad.S2SADError as err:  # the module as a whole
            print(_one_line(str(err)), file=sys.stderr)
            return 1
        for err in failures:
            print(_one_line(str(err)), file=sys.stderr)
        if len(failures) == len(functions):
            text = ""  # nothing to write
        failed = bool(failures)
    else:
        outputs, failed = [], False
        for func in functions.values():
            try:
                outputs.append(_show(func, argnums[func], args))
            except s2sad.S2SADError as err:
                print(_one_line(str(err)), file=sys.stderr)
                failed = True
        text = "\n\n\n".join(outputs)
        if text and args.output is not None:
            text = f"{aot.MARKER}\n{text}"
    try:
        _write(text, args.output)
    except BrokenPipeError:
        _silence_stdout()
    except OSError as err:
        print(f"s2sad: cannot write {args.output}: {err.strerror}",
              file=sys.stderr)
        return 2
    return 1 if failed else 0


def _refusal(args):
    """Why writing OUT is refused (over FILE, or over a file s2sad did not
    write, without --force), or None."""
    if args.output == "-":
        return ("-o -: give -o a file name (without -o the code is printed "
                "to stdout)")
    if args.output is None or args.force or not os.path.exists(args.output):
        return None
    if os.path.exists(args.file) and os.path.samefile(args.output,
                                                      args.file):
        return (f"refusing to write over the input file {args.file}; "
                "use --force to overwrite it")
    if os.path.isfile(args.output) and not aot.is_output(args.output):
        return (f"refusing to overwrite {args.output}, which s2sad did "
                "not write; use --force to overwrite it")
    return None


def _parser():
    """The argument parser of the command line."""
    parser = argparse.ArgumentParser(
        prog="s2sad",
        description="Print the derivative code s2sad generates for the "
                    "functions in FILE, or write it as a module to import "
                    "(-o OUT).")
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="a Python source file")
    parser.add_argument("names", metavar="NAME", nargs="*",
                        help="functions to transform, or methods as "
                             "Class.method (default: every top-level "
                             "function defined in FILE)")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {s2sad.__version__}")
    parser.add_argument("--mode", choices=("reverse", "forward"),
                        default="reverse", help="AD mode (default: reverse)")
    parser.add_argument("--argnums", type=_argnums, action="append",
                        metavar="[NAME=]0,1", default=[],
                        help="comma-separated positional arguments to "
                             "differentiate, of every function or of "
                             "NAME, counted after self for "
                             "Class.method; may be repeated for different "
                             "NAMEs (default: FILE's ARGNUMS dict, else "
                             "every parameter that is not an int default "
                             "or annotation, a range() bound or an "
                             "index)")
    parser.add_argument("--stage", choices=("ssa", "grad"), default="grad",
                        help="print the SSA form or the generated "
                             "derivative (default: grad)")
    parser.add_argument("--no-optimize", action="store_true",
                        help="skip the optimizer")
    parser.add_argument("-o", dest="output", metavar="OUT",
                        help="write a module to import (the SSA text with "
                             "--stage ssa) to OUT instead of printing")
    parser.add_argument("--standalone", action="store_true",
                        help="with -o: copy the s2sad helpers the code "
                             "calls into OUT, which then runs without "
                             "s2sad")
    parser.add_argument("--module", metavar="NAME",
                        help="with -o: OUT imports FILE's module by NAME "
                             "(default: by FILE's path relative to OUT); a "
                             "dotted NAME (pkg.model) is FILE's module in "
                             "its package, imported by that name")
    parser.add_argument("--force", action="store_true",
                        help="write OUT even over FILE or a file s2sad "
                             "did not write")
    parser.add_argument("--clear-cache", action="store_true",
                        help="delete the generated derivatives s2sad keeps "
                             "on disk, then go on (if FILE is given)")
    return parser


def _argnums(text):
    """`0` -> (None, 0), `f=0,1` -> ("f", (0, 1)): a function's name (None
    for every function) and its argnums, as `s2sad.grad` takes them."""
    name, _, numbers = text.rpartition("=")
    try:
        value = _as_argnums(int(part) for part in numbers.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected [NAME=]integers separated by commas, got {text!r}"
        ) from None
    return name or None, value


def _as_argnums(numbers):
    """A single number as itself, several as a tuple."""
    numbers = tuple(numbers)
    return numbers[0] if len(numbers) == 1 else numbers


def _import_file(path, module_name=None):
    """Import the file at `path` as a module named `s2sad_user_<stem>`, or,
    with a dotted `module_name`, as the module of that name in its package
    (which may import its siblings relatively).

    The module is registered in sys.modules (inspect.getsource needs it) and
    the file's directory is on sys.path while it runs, so that it can import
    its siblings. It sees `sys.argv` as `[path]`, as under `python path`
    without arguments (not s2sad's own). What it prints goes to stderr.

    Raises:
        ImportError: with a one-line message if the file is missing or fails.
    """
    if os.path.isdir(path):
        raise ImportError(f"{path}: is a directory; give a Python source "
                          "file")
    if not os.path.isfile(path):
        raise ImportError(f"{path}: no such file")
    if module_name is not None and "." in module_name:
        return _import_named(path, module_name)
    name = "s2sad_user_" + pathlib.Path(path).stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None:
        raise ImportError(f"{path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    directory = os.path.dirname(os.path.abspath(path))
    sys.modules[name] = module
    sys.path.insert(0, directory)
    argv, sys.argv = sys.argv, [path]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:
        del sys.modules[name]
        raise ImportError(_import_failure(path, err)) from None
    finally:
        sys.argv = argv
        sys.path.remove(directory)
    return module


def _import_named(path, name):
    """The module `name` of a package, the file at `path`, imported with
    the directory its name starts from on sys.path (`pkg.model` of
    `src/pkg/model.py`: src; see `_import_file`)."""
    root = os.path.dirname(os.path.abspath(path))
    for _ in range(name.count(".") + (
            pathlib.Path(path).stem == "__init__")):
        root = os.path.dirname(root)
    sys.path.insert(0, root)
    argv, sys.argv = sys.argv, [path]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            module = importlib.import_module(name)
    except (Exception, SystemExit) as err:
        raise ImportError(_import_failure(path, err)) from None
    finally:
        sys.argv = argv
        sys.path.remove(root)
    found = getattr(module, "__file__", None)
    if found is None or not os.path.samefile(found, path):
        raise ImportError(f"{path}: --module {name} names {found}, not this "
                          "file")
    return module


def _import_failure(path, err):
    """`file:line: Type: message` for an exception raised importing `path`."""
    syntax = isinstance(err, SyntaxError)
    lineno = err.lineno if syntax else None
    for frame in traceback.extract_tb(err.__traceback__):
        if os.path.abspath(frame.filename) == os.path.abspath(path):
            lineno = frame.lineno
    where = f"{path}:{lineno}" if lineno else path
    message = err.msg if syntax else str(err)
    kind = type(err).__name__
    if isinstance(err, ImportError) and "relative import" in message:
        message += ("; a module of a package: import it by its name with "
                    "--module package.module, from the directory the name "
                    "starts from")
    return _one_line(f"{where}: cannot import: {kind}: {message}")


class ArgnumsError(errors.S2SADError):
    """Argnums that do not fit the function they are given for (the
    command line exits with status 2)."""


def _file_argnums(module):
    """The module's `ARGNUMS` dict (name -> argnums), or {}.

    Raises:
        ArgnumsError: naming the entry, if it is not such a dict or an
            entry names no function of the module.
    """
    table = getattr(module, "ARGNUMS", None)
    if table is None:
        return {}
    where = (module.__file__, _assignment_line(module.__file__, "ARGNUMS"))
    if not isinstance(table, dict):
        raise ArgnumsError(
            f"ARGNUMS must be a dict of function names to an int or a tuple "
            f"of ints, not a {type(table).__name__}", *where)
    for name, value in table.items():
        if not isinstance(name, str) or _lookup(module, name)[0] is None:
            raise ArgnumsError(
                f"ARGNUMS[{name!r}]: the file has no function named "
                f"{name!r}; give a function's name (or Class.method)", *where)
        if not _is_argnums(value):
            raise ArgnumsError(
                f"ARGNUMS[{name!r}] = {value!r} is not argnums; give an "
                "int or a tuple of ints", *where)
    return table


def _assignment_line(path, name):
    """The line of the first top-level assignment to `name` in the file at
    `path` (None if there is none or the file cannot be read)."""
    try:
        tree = ast.parse(pathlib.Path(path).read_text(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [getattr(node, "target", None)])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node.lineno
    return None


def _is_argnums(value):
    """Whether `value` is an int or a non-empty tuple or list of ints."""
    def is_int(item):
        return isinstance(item, int) and not isinstance(item, bool)
    if isinstance(value, (tuple, list)):
        return bool(value) and all(map(is_int, value))
    return is_int(value)


def _select(module, names):
    """The functions to transform by name, in the order given or in source
    order: what the names denote, as `s2sad.grad` would take them (a
    function `@s2sad.grad` replaced is that derivative; a wrapper
    `functools.wraps` made is the wrapper).

    Returns:
        ({name: function}, {the names of methods whose first parameter is
        their instance or class}); a method's name is `Class.method`.

    Raises:
        LookupError: if one of `names` is not a function in `module`.
        S2SADError: if one of `names` takes no positional arguments.
    """
    if names:
        found, bound = {}, set()
        for name in names:
            func, takes_self = _lookup(module, name)
            if func is None:
                raise LookupError(f"no function named {name!r}")
            params, varargs = _positional(func, takes_self)
            if not params and not varargs:
                raise errors.S2SADError(
                    f"{name} takes no positional arguments, so there is "
                    "nothing to differentiate; name a function that takes "
                    "some", *_location(func))
            found[name] = func
            if takes_self:
                bound.add(name)
        return found, bound
    named = {}  # id(function) -> (its name in module, function)
    for name, value in vars(module).items():
        func = _transformable(value)
        if func is None or func.__module__ != module.__name__ or not any(
                _positional(func, False)) or _makes_functions(func):
            continue
        # a function by the name it is bound to (`loss_b = make(3.0)`,
        # `sq = lambda x: ...`), by its own if it is bound to that too
        if id(func) not in named or name == func.__name__:
            named[id(func)] = (name, func)
    defined = sorted(named.values(), key=lambda item: (
        _location(item[1])[1], item[0]))
    return dict(defined), set()


def _parsed(func):
    """The `ast` module of `func`'s source, or None if it cannot be read."""
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return None


def _makes_functions(func):
    """Does `func` return a function (a factory: `def make(c): def loss(x):
    ...; return loss`), which has no gradient, on every `return`?"""
    module = _parsed(_source_function(func))
    tree = module.body[0] if module is not None and module.body else None
    if not isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False  # (a lambda, or no source)
    nested, returns, stack = set(), [], list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested.add(node.name)
            continue  # (its own returns)
        if isinstance(node, ast.Return):
            returns.append(node.value)
        stack.extend(c for c in ast.iter_child_nodes(node)
                     if not isinstance(c, ast.Lambda))
    return bool(returns) and all(
        isinstance(value, ast.Lambda) or isinstance(value, ast.Name)
        and value.id in nested for value in returns)


def _lookup(module, name):
    """The function `name` (`f` or `Class.method`) of `module`, and whether
    its first parameter is the instance or class it is called on.

    Returns:
        (function, bound), or (None, False) if there is no such function.
    """
    owner, obj = None, module
    for part in name.split("."):
        owner = obj
        obj = (inspect.getattr_static(obj, part, None)
               if inspect.isclass(obj) else getattr(obj, part, None))
    bound = inspect.isclass(owner) and not isinstance(obj, staticmethod)
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    obj = _transformable(obj)
    return (obj, bound) if obj is not None else (None, False)


def _transformable(obj):
    """`obj` if it is a Python function or a derivative `s2sad.grad` made,
    else None."""
    if inspect.isfunction(obj) or isinstance(obj, s2sad.Derivative):
        return obj
    return None


def _source_function(func):
    """The user's `def` behind `func`: the function a derivative
    differentiates, the one a `functools.wraps` wrapper wraps."""
    while isinstance(func, s2sad.Derivative):
        func = func.fun
    return inspect.unwrap(func)


def _location(func):
    """(file, line) of the user's `def` behind `func`."""
    code = _source_function(func).__code__
    return code.co_filename, code.co_firstlineno


def _positional(func, bound):
    """The names of the positional parameters of `func` as a call sees them
    (those of the function a wrapper or a derivative stands for; without
    the instance or class if `bound`), and whether it takes `*args`."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return [], False
    names = [p.name for p in parameters
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    return names[1:] if bound else names, varargs


def _argnums_table(functions, bound, options, from_file):
    """{function: argnums}, as `s2sad.grad` takes them for the function
    itself (a method's counting its instance), by the rules of the module
    docstring.

    Args:
        functions, bound: as `_select` gives them.
        options: the --argnums options, (name or None, argnums) each.
        from_file: FILE's ARGNUMS dict.

    Raises:
        ArgnumsError: if argnums are given twice for a function, name a
            function not transformed, or do not name its parameters.
    """
    named, common = {}, []
    for name, value in options:
        if name is None:
            common.append(value)
        elif name in named:
            raise ArgnumsError(f"--argnums {name}=... is given twice; give "
                               "each function's argnums once")
        else:
            named[name] = value
    if len(common) > 1:
        raise ArgnumsError("--argnums without a NAME is given twice; give "
                           "it once (and NAME=... for single functions)")
    for name in named:
        if name not in functions:
            raise ArgnumsError(f"--argnums {name}=...: no function named "
                               f"{name!r} is transformed")
    table = {}
    for name, func in functions.items():
        method = name in bound
        if name in named:
            value, where = named[name], f"--argnums {name}="
        elif common:
            value, where = common[0], "--argnums "
        elif name in from_file:
            value, where = from_file[name], f"ARGNUMS[{name!r}] = "
        else:
            value, where = default_argnums(func, method), None
        if isinstance(value, list):
            value = tuple(value)
        table[func] = _engine_argnums(name, func, method, value, where)
    return table


def _engine_argnums(name, func, method, value, where):
    """`value`, argnums counted as a call of `name` counts its arguments,
    as the engine takes them for `func` (a method's first parameter, the
    instance or class, counted).

    Raises:
        ArgnumsError: if `value` does not name parameters of `func`.
    """
    numbers = (value,) if isinstance(value, int) else value
    params, varargs = _positional(func, method)
    count = len(params)
    fits = [0 <= k and (k < count or varargs) for k in numbers]
    if not all(fits):
        given = ",".join(map(str, numbers))
        takes = ", ".join(params + (["*args"] if varargs else []))
        raise ArgnumsError(
            f"{where or 'argnums '}{given} does not name parameters of "
            f"{name}({takes}); give numbers from 0"
            + ("" if varargs else f" to {count - 1}")
            + (", counting from its first parameter after "
               f"{_positional(func, False)[0][0]}" if method else ""),
            *_location(func))
    if method:
        numbers = tuple(k + 1 for k in numbers)
    return _as_argnums(numbers)


def default_argnums(func, method=False):
    """The positional parameters of `func` to differentiate when nothing
    says which: all but those that are data (see `_data`), and for a method
    (`method`) counted from the first parameter after its instance or
    class; all of them if that leaves none, and the first argument of a
    function that only takes `*args`.

    Returns:
        A single number as itself (as `grad(f)` takes it), else a tuple.
    """
    params, _ = _positional(func, method)
    if not params:
        return 0
    data = _data(func, params)
    kept = [number for number, name in enumerate(params) if name not in data]
    return _as_argnums(kept or range(len(params)))


def _data(func, params, seen=()):
    """The parameters among `params` that are data as far as `func`'s
    signature and source show: an int (or bool) default value, an `int`
    annotation, and the counts `_counts` finds."""
    data = set()
    for parameter in inspect.signature(func).parameters.values():
        default = parameter.default
        if (isinstance(default, int) or parameter.annotation in (int, "int")
                or default is not parameter.empty and callable(default)):
            data.add(parameter.name)
    source = _source_function(func)
    return (data | _counts(source, _DataArguments(source, seen))) & set(
        params)


# operators that keep integers integers
_INTEGER_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)


# NumPy's functions (by their last name) and the positions of their
# arguments that are data (a shape, a count, an axis, indices, a seed, a
# condition); None: all of them. As a method (`x.reshape(n, -1)`), the
# array is not an argument: each position is one less.
_DATA_POSITIONS = {
    "eye": {0, 1, 2}, "identity": {0}, "zeros": {0}, "ones": {0},
    "empty": {0}, "full": {0}, "tri": {0, 1, 2}, "tril_indices": None,
    "triu_indices": None, "diag_indices": None, "where": {0},
    "arange": None, "reshape": {1, 2, 3, 4}, "tile": {1}, "repeat": {1},
    "roll": {1, 2}, "take": {1, 2}, "diff": {1, 2}, "pad": {1},
    "moveaxis": {1, 2}, "swapaxes": {1, 2}, "expand_dims": {1},
    "squeeze": {1}, "transpose": {1}, "flip": {1}, "split": {1, 2},
    "array_split": {1, 2}, "broadcast_to": {1}, "linspace": {2},
    "tensordot": {2}, "cumsum": {1}, "cumprod": {1}, "sort": {1},
    "argsort": {1}, "sum": {1}, "mean": {1}, "prod": {1}, "max": {1},
    "min": {1}, "std": {1}, "var": {1}, "argmax": {1}, "argmin": {1},
    "concatenate": {1}, "stack": {1}, "integers": None, "randint": None,
    "default_rng": None, "seed": None, "permutation": None,
    "RandomState": None, "choice": None, "isqrt": None, "factorial": None,
    "comb": None, "perm": None, "delete": {1, 2}, "insert": {1, 3},
    "interp": {1}, "percentile": {1}, "quantile": {1}, "partition": {1},
    "argpartition": {1}}
# keyword arguments that take data
_DATA_KEYWORDS = {"axis", "axes", "shape", "size", "dtype", "seed", "ddof",
                  "k", "keepdims", "repeats", "reps", "shift", "num", "n",
                  "ord", "decimals", "out", "minlength", "bins", "indices",
                  "newshape", "source", "destination", "pad_width"}


class _DataArguments:
    """Whether an argument of a call in `func`'s source is data: an
    argument NumPy takes as a shape, a count, an axis or a seed (see
    `_DATA_POSITIONS`), or a parameter of a function of the user's own module
    that is data there (its default argnums would leave it out)."""

    def __init__(self, func, seen):
        self.func, self.seen = func, seen

    def __call__(self, call, node):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else \
            getattr(call.func, "id", None)
        keyword = next((k.arg for k in call.keywords if k.value is node),
                       None)
        if keyword in _DATA_KEYWORDS:
            return True
        namespace = getattr(self.func, "__globals__", {})
        builtin = isinstance(call.func, ast.Name) and namespace.get(
            name, getattr(builtins, name, None)) is getattr(
                builtins, name, ())  # (max(x, y) is not np.max(x, axis))
        if name in _DATA_POSITIONS and node in call.args and not builtin:
            positions = _DATA_POSITIONS[name]
            # np.reshape(x, n), or the method x.reshape(n): the array first
            method = isinstance(call.func, ast.Attribute) and not (
                isinstance(call.func.value, ast.Name)
                and call.func.value.id in ("np", "numpy", "math", "rng",
                                           "random"))
            position = call.args.index(node) + method
            if positions is None or position in positions:
                return True
        callee = getattr(self.func, "__globals__", {}).get(name) \
            if isinstance(call.func, ast.Name) else None
        if not inspect.isfunction(callee) or callee in self.seen:
            return False
        try:
            params = list(inspect.signature(callee).parameters)
        except (TypeError, ValueError):
            return False
        position = call.args.index(node) if node in call.args else None
        param = keyword if position is None else (
            params[position] if position < len(params) else None)
        return param is not None and param in _data(
            callee, params, (*self.seen, self.func))


def _counts(func, data_arguments=lambda call, node: False):
    """The names (parameters and local variables) of `func` that are
    integer counts or indices, found in its source (none if it cannot be
    read). Following a name's value up through integer arithmetic (`+ - *
    // %`, unary minus, `int(...)`), a name is a count if it is called (a
    function), reaches an argument of `range(...)` (which takes ints only),
    an index or slice bound (`xs[i]`, `xs[:n]`) not through `int()`, or
    the value of such a count, or if every use of it is an index through
    `int()`, a comparison with a loop counter (`while i < n`, with `i` set
    to ints and stepped by ints) or the value of a count."""
    tree = _parsed(func)
    if tree is None:
        return set()
    parents = {child: node for node in ast.walk(tree)
               for child in ast.iter_child_nodes(node)}
    counters = _counters(tree)
    loads = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, []).append(node)
    forced, counts = set(), set()
    while True:
        uses = {name: [_use(node, parents, counters, forced, counts,
                            data_arguments)
                       for node in nodes] for name, nodes in loads.items()}
        new_forced = {name for name, kinds in uses.items()
                      if "range" in kinds}
        new_counts = new_forced | {name for name, kinds in uses.items()
                                   if None not in kinds}
        if (new_forced, new_counts) == (forced, counts):
            return counts
        forced, counts = new_forced, new_counts


def _use(node, parents, counters, forced, counts, data_arguments):
    """What the value of the name `node` is used as: "range" (data
    whatever its other uses: a function called, an argument of range(),
    an index or slice bound, the value of a name in `forced`), "count"
    (a test, compared with a string or with a name in `counters`, an index
    through int(), the value of a name in `counts`) or None (anything
    else), followed up through integer arithmetic."""
    parent = parents.get(node)
    if isinstance(parent, ast.Call) and node is parent.func:
        return "range"  # a function (act(w)): data
    test, above = node, parent  # (`if use_bias and ...:` too)
    while isinstance(above, ast.BoolOp):
        test, above = above, parents.get(above)
    if isinstance(above, (ast.If, ast.While, ast.IfExp)) and \
            test is above.test or isinstance(parent, ast.UnaryOp) and \
            isinstance(parent.op, ast.Not):
        return "count"  # a flag (`if use_bias:`), unless used otherwise too
    if isinstance(parent, ast.Compare) and any(
            isinstance(other, ast.Constant) and isinstance(
                other.value, (str, bytes))
            for other in [parent.left, *parent.comparators]):
        return "count"  # compared with a string, unless used otherwise too
    converted = False  # (int(t): t itself may be a float)
    while (isinstance(parent, ast.BinOp)
           and isinstance(parent.op, _INTEGER_OPS)
           or isinstance(parent, ast.UnaryOp)
           and isinstance(parent.op, (ast.USub, ast.UAdd))
           or _is_call(parent, "int") and node in parent.args):
        converted = converted or isinstance(parent, ast.Call)
        node, parent = parent, parents.get(parent)
    if _is_call(parent, "range") and node in parent.args:
        return "range"
    if isinstance(parent, ast.Assign) and node is parent.value:
        names = {t.id for t in parent.targets if isinstance(t, ast.Name)}
        if names and len(names) == len(parent.targets):
            if names <= forced and not converted:  # (k = int(t): t may be
                return "range"  # a float)
            return "count" if names <= counts else None
    if isinstance(parent, ast.Tuple):  # xs[i, j], np.zeros((n, m))
        node, parent = parent, parents.get(parent)
    if isinstance(parent, ast.keyword):
        node, parent = parent.value, parents.get(parent)
    if isinstance(parent, ast.Call) and data_arguments(parent, node):
        return "range"  # a shape, an axis, a seed, a helper's count
    if (isinstance(parent, ast.Subscript) and node is parent.slice
            or isinstance(parent, ast.Slice)):
        # (an index or slice bound is an int or a mask, never a float)
        return "count" if converted else "range"
    if isinstance(parent, ast.Compare):
        others = [parent.left, *parent.comparators]
        if any(isinstance(other, ast.Name) and other.id in counters
               for other in others if other is not node):
            return "count"
    return None


def _is_call(node, name):
    """Whether `node` is a call of the plain name `name`."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == name)


def _counters(tree):
    """The names in `tree` that are loop counters: only ever the target of
    a `for` over `range(...)`, set to an int constant, or stepped by one
    (`i += 1`, `i = i + 2`)."""
    def int_constant(node):
        return (isinstance(node, ast.Constant) and isinstance(node.value, int)
                and not isinstance(node.value, bool))

    def step(name, value):
        return (int_constant(value)
                or isinstance(value, ast.BinOp)
                and isinstance(value.op, (ast.Add, ast.Sub))
                and isinstance(value.left, ast.Name)
                and value.left.id == name and int_constant(value.right))
    good, bad, seen = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            seen.add(node.target)
            (good if _is_call(node.iter, "range") else bad).add(
                node.target.id)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    seen.add(target)
                    (good if step(target.id, node.value) else bad).add(
                        target.id)
        elif (isinstance(node, ast.AugAssign)
              and isinstance(node.target, ast.Name)):
            seen.add(node.target)
            ok = (isinstance(node.op, (ast.Add, ast.Sub))
                  and int_constant(node.value))
            (good if ok else bad).add(node.target.id)
        elif (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
              and node not in seen):
            bad.add(node.id)  # bound some other way
    return good - bad


def _show(func, argnums, args):
    """The generated code (or SSA form) of `func`, as the options say."""
    return s2sad.show(func, mode=args.mode, stage=args.stage,
                      argnums=argnums,
                      optimize=not args.no_optimize).rstrip("\n")


def _write(text, output):
    """Print `text`, or write it to the file `output`; nothing if empty."""
    if not text:
        return
    if output is None:
        print(text, flush=True)
    else:
        pathlib.Path(output).write_text(text + "\n")


def _silence_stdout():
    """After the reader of stdout went away (`| head`): send what is left
    to os.devnull, so that flushing stdout at exit raises nothing."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _one_line(text):
    """`text` with its lines joined by spaces."""
    return " ".join(text.splitlines())

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
under `python FILE`); what it prints while it is imported goes to stderr, so that stdout holds only the generated code.
Without NAMEs, every top-level function defined in FILE that takes
arguments is transformed, in source order. A NAME may be a method,
`Class.method`.

Which positional parameters each function is differentiated with respect
to, first rule that applies:

1. `--argnums NAME=0,1` for the function NAME (the option may be repeated);
2. `--argnums 0,1` for every function;
3. `ARGNUMS[NAME]`, if FILE defines a dict `ARGNUMS` at its top level;
4. otherwise, every positional parameter except those that are data as
   far as the function's source shows: one whose default value is an int
   (or a bool), one that is only used as an argument of `range(...)` or as
   an index (`xs[i]`, `xs[:n]`), and `self` (or `cls`) of a method named
   `Class.method`. A parameter such as a loop count is then not
   differentiated, which keeps the float fast path. If no parameter is
   left, all of them are differentiated.

Without -o, the generated code is printed. A reader that stops early
(`s2sad FILE | head`) ends the output quietly. `-o OUT` writes a module
that can be imported (see `s2sad.aot`): the generated functions (`grad_f`,
or `jvp_f` in forward mode, listed in its `__all__`) with every generated
function they call, the imports and constants they read, and FILE's module,
which it imports (by FILE's path relative to OUT, or by module name with
`--module NAME`) for the globals the code reads when it runs. It is a
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
a NAME does not exist, or FILE has no function to transform; 2 for bad
arguments (an `ARGNUMS` that is not a dict of argnums included), a FILE
that cannot be imported, an OUT that cannot be written or that is refused.
"""

import argparse
import ast
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
from s2sad import aot, diskcache


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
        module = _import_file(args.file)
        from_file = _file_argnums(module)
    except ImportError as err:
        print(err, file=sys.stderr)
        return 2
    try:
        functions, bound = _select(module, args.names)
        argnums = _argnums_table(functions, bound, args.argnums, from_file)
    except LookupError as err:
        print(f"{args.file}: {err.args[0]}", file=sys.stderr)
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
                command=shlex.join(["s2sad", *argv]))
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
                             "NAME; may be repeated (default: FILE's "
                             "ARGNUMS dict, else every parameter that "
                             "is not an int default, a range() bound or "
                             "an index)")
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
                             "(default: by FILE's path relative to OUT)")
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


def _import_file(path):
    """Import the file at `path` as a module named `s2sad_user_<stem>`.

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
    return _one_line(f"{where}: cannot import: {kind}: {message}")


def _file_argnums(module):
    """The module's `ARGNUMS` dict (name -> argnums), or {}.

    Raises:
        ImportError: with a one-line message if it is not such a dict.
    """
    table = getattr(module, "ARGNUMS", None)
    if table is None:
        return {}
    valid = isinstance(table, dict) and all(
        isinstance(name, str) and _is_argnums(value)
        for name, value in table.items())
    if not valid:
        raise ImportError(f"{module.__file__}: ARGNUMS must be a dict of "
                          "function names to an int or a tuple of ints")
    return table


def _is_argnums(value):
    """Whether `value` is an int or a non-empty tuple or list of ints."""
    def is_int(item):
        return isinstance(item, int) and not isinstance(item, bool)
    if isinstance(value, (tuple, list)):
        return bool(value) and all(map(is_int, value))
    return is_int(value)


def _select(module, names):
    """The functions to transform by name, in the order given or in source
    order.

    Returns:
        ({name: function}, {the names of methods whose first parameter is
        their instance or class}); a method's name is `Class.method`.

    Raises:
        LookupError: if one of `names` is not a function in `module`.
    """
    if names:
        found, bound = {}, set()
        for name in names:
            func, takes_self = _lookup(module, name)
            if func is None:
                raise LookupError(f"no function named {name!r}")
            found[name] = func
            if takes_self:
                bound.add(name)
        return found, bound
    defined = [func for func in map(_primal, vars(module).values())
               if inspect.isfunction(func)
               and func.__module__ == module.__name__
               and func.__code__.co_argcount > 0]
    defined.sort(key=lambda func: func.__code__.co_firstlineno)
    return {func.__name__: func for func in defined}, set()


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
    obj = _primal(obj)
    return (obj, bound) if inspect.isfunction(obj) else (None, False)


def _primal(obj):
    """The user's function behind `obj` (`@s2sad.grad` replaces it)."""
    return obj.fun if isinstance(obj, s2sad.Derivative) else obj


def _argnums_table(functions, bound, options, from_file):
    """{function: argnums} by the rules of the module docstring.

    Args:
        functions, bound: as `_select` gives them.
        options: the --argnums options, (name or None, argnums) each.
        from_file: FILE's ARGNUMS dict.

    Raises:
        LookupError: if an option names a function not transformed.
    """
    named = {name: value for name, value in options if name is not None}
    common = [value for name, value in options if name is None]
    for name in named:
        if name not in functions:
            raise LookupError(f"--argnums {name}=...: no function named "
                              f"{name!r} is transformed")
    table = {}
    for name, func in functions.items():
        if name in named:
            table[func] = named[name]
        elif common:
            table[func] = common[-1]
        elif name in from_file:
            value = from_file[name]
            table[func] = tuple(value) if isinstance(value, list) else value
        else:
            table[func] = default_argnums(func, method=name in bound)
    return table


def default_argnums(func, method=False):
    """The positional parameters of `func` to differentiate when nothing
    says which: all but those whose default value is an int, those its
    source only uses as `range(...)` arguments or as indices, and (for a
    method, a classmethod) the first; all of them if that leaves none.

    Returns:
        A single number as itself (as `grad(f)` takes it), else a tuple.
    """
    code = func.__code__
    names = code.co_varnames[:code.co_argcount]
    defaults = func.__defaults__ or ()
    data = {name for name, value in zip(names[len(names) - len(defaults):],
                                        defaults)
            if isinstance(value, int)}
    data |= _counts_and_indices(func, names)
    if method:
        data.add(names[0])
    kept = [number for number, name in enumerate(names) if name not in data]
    return _as_argnums(kept or range(len(names)))


def _counts_and_indices(func, names):
    """The parameters among `names` that `func`'s source reads only as an
    argument of `range(...)` or as an index or slice bound (none if the
    source cannot be read)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return set()
    allowed = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "range"):
            allowed.update(map(id, node.args))
        elif isinstance(node, ast.Subscript):
            index = node.slice
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            for part in parts:
                if isinstance(part, ast.Slice):
                    allowed.update(map(id, (part.lower, part.upper,
                                            part.step)))
                else:
                    allowed.add(id(part))
    used, other = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            (used if id(node) in allowed else other).add(node.id)
    return used - other


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

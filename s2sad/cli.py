"""Command line: the code s2sad generates for the functions in a file,
printed, or written as a module to import.

    s2sad FILE [NAME ...] [--mode reverse|forward] [--argnums 0,1]
               [--stage ssa|grad] [--no-optimize]
               [-o OUT [--standalone] [--module NAME] [--force]]
    s2sad --clear-cache

FILE is imported under a module name other than `__main__`, so its
`if __name__ == "__main__":` block does not run. Without NAMEs, every
top-level function defined in FILE that takes arguments is transformed, in
source order. Without --argnums, each function is differentiated with respect
to all of its positional parameters.

Without -o, the generated code is printed. `-o OUT` writes a module that
can be imported (see `s2sad.aot`): the generated functions (`grad_f`, or
`jvp_f` in forward mode, listed in its `__all__`) with every generated
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
`file:line: message` line per function on stderr; the others are written)
or a NAME does not exist; 2 for bad arguments, a FILE that cannot be
imported, an OUT that cannot be written or that is refused.
"""

import argparse
import importlib.util
import inspect
import os
import pathlib
import shlex
import sys
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
    except ImportError as err:
        print(err, file=sys.stderr)
        return 2
    try:
        functions = _select(module, args.names)
    except LookupError as err:
        print(f"{args.file}: {err.args[0]}", file=sys.stderr)
        return 1
    if args.output is not None and args.stage == "grad":
        try:
            text, failures = aot.module_source(
                functions, module, args.output, mode=args.mode,
                argnums=lambda func: _argnums_of(func, args),
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
        for func in functions:
            try:
                outputs.append(_show(func, args))
            except s2sad.S2SADError as err:
                print(_one_line(str(err)), file=sys.stderr)
                failed = True
        text = "\n\n\n".join(outputs)
        if text and args.output is not None:
            text = f"{aot.MARKER}\n{text}"
    try:
        _write(text, args.output)
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
    parser = argparse.ArgumentParser(
        prog="s2sad",
        description="Print the derivative code s2sad generates for the "
                    "functions in FILE, or write it as a module to import "
                    "(-o OUT).")
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="a Python source file")
    parser.add_argument("names", metavar="NAME", nargs="*",
                        help="functions to transform (default: every "
                             "top-level function defined in FILE)")
    parser.add_argument("--mode", choices=("reverse", "forward"),
                        default="reverse", help="AD mode (default: reverse)")
    parser.add_argument("--argnums", type=_argnums, default=None,
                        help="comma-separated positional arguments to "
                             "differentiate, e.g. 0,1 (default: all)")
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
    """`0` -> 0, `0,1` -> (0, 1), as `s2sad.grad` takes them."""
    try:
        numbers = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, got {text!r}") from None
    return numbers[0] if len(numbers) == 1 else numbers


def _import_file(path):
    """Import the file at `path` as a module named `s2sad_user_<stem>`.

    The module is registered in sys.modules (inspect.getsource needs it) and
    the file's directory is on sys.path while it runs, so that it can import
    its siblings.

    Raises:
        ImportError: with a one-line message if the file is missing or fails.
    """
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
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:
        del sys.modules[name]
        raise ImportError(_import_failure(path, err)) from None
    finally:
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


def _select(module, names):
    """The functions to transform, in the order given or in source order.

    Raises:
        LookupError: if one of `names` is not a function in `module`.
    """
    if names:
        found = [_primal(getattr(module, name, None)) for name in names]
        for name, func in zip(names, found):
            if not inspect.isfunction(func):
                raise LookupError(f"no function named {name!r}")
        return found
    defined = [func for func in map(_primal, vars(module).values())
               if inspect.isfunction(func)
               and func.__module__ == module.__name__
               and func.__code__.co_argcount > 0]
    return sorted(defined, key=lambda func: func.__code__.co_firstlineno)


def _primal(obj):
    """The user's function behind `obj` (`@s2sad.grad` replaces it)."""
    return obj.fun if isinstance(obj, s2sad.Derivative) else obj


def _show(func, args):
    return s2sad.show(func, mode=args.mode, stage=args.stage,
                      argnums=_argnums_of(func, args),
                      optimize=not args.no_optimize).rstrip("\n")


def _argnums_of(func, args):
    """--argnums, or every positional parameter of `func`."""
    if args.argnums is None:
        return _all_positional(func)
    return args.argnums


def _all_positional(func):
    """Every positional parameter: 0 for one (as `grad(f)`), else a tuple."""
    count = func.__code__.co_argcount
    return 0 if count == 1 else tuple(range(count))


def _write(text, output):
    if not text:
        return
    if output is None:
        print(text)
    else:
        pathlib.Path(output).write_text(text + "\n")


def _one_line(text):
    return " ".join(text.splitlines())

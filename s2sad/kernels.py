"""Compiled kernels: generated gradients that Numba compiles.

With `backend="numba"`, a gradient of code on numbers is generated as three
functions: the Python function the user calls, which checks that the
arguments are numbers (else it calls the general gradient, in Python);
its kernel, `grad_f_numba`, written for Numba's nopython mode (one tape
list per place that pushes, as a Numba list holds one kind of entry;
loops counting down with `range` where Python code says `reversed`; the
module-level arrays it reads taken as arguments); and the general
gradient. `.source` shows all three, as Numba compiles them.

A `Kernel` stands for the kernel in the generated code. Numba compiles it
on its first call for each kind of argument (an int `n` or a float), and
caches the machine code on disk beside a copy of the kernel's source in
s2sad's cache directory, so that another process loads it. Numba freezes
the values of the globals a kernel reads (`G = 9.81`) as it compiles:
their values are part of the copy's name, and a kernel whose global was
rebound is compiled again.

The kernel computes what Python computes; where Numba's answer could
differ from Python's, Python decides. The kernel reads `runtime` as
`kernel_runtime`, whose helpers, `math` functions, powers, int products,
`int()`, `round()` and loop counts raise where Python's would raise or
give what Numba cannot (a complex number, an int past 64 bits); and a
kernel whose call raises, or whose result is not finite where it calls
NumPy's functions (which warn in Python), is run again as Python (`Kernel.python`, the same code uncompiled, reading s2sad's
`runtime`), which gives Python's answer or raises Python's error at the
user's line.
"""

import contextlib
import dis
import hashlib
import math
import os
import re
import sys
import types
import warnings

import numpy as np

from s2sad import diskcache, errors

INSTALL = "pip install 's2sad[numba]'"

BACKENDS = ("python", "numba")


class FallbackWarning(UserWarning):
    """A gradient asked for with backend='numba' and fallback='python'
    runs in Python, as Numba cannot compile it."""


def check_backend(backend, fallback):
    """Refuse an unknown `backend` or `fallback` option (the API's)."""
    if backend not in BACKENDS:
        raise errors.S2SADError(
            f"unknown backend {backend!r}; use 'python' (the default) or "
            "'numba'")
    if fallback not in ("raise", "python"):
        raise errors.S2SADError(
            f"unknown fallback {fallback!r}; use 'raise' (the default: a "
            "function Numba cannot compile raises) or 'python' (its Python "
            "gradient runs instead, with one warning)")
    if backend == "numba":
        numba_module()


def numba_module():
    """Numba, or an error saying how to install it."""
    try:
        import numba
    except ImportError:
        raise errors.S2SADError(
            "backend='numba' needs Numba, which is not installed; install "
            f"it with {INSTALL} (or `pip install numba`), or leave out "
            "backend= for the Python derivative") from None
    return numba


class Kernel:
    """The compiled kernel of a generated gradient (see the module).

    Attributes:
        python: the kernel as a Python function (what Numba compiles).
        compiled: Numba's dispatcher for it.
    """

    def __init__(self, code, user_globals, user_cells, imports,
                 fallback="raise"):
        """The kernel of generated `code` (whose free names are globals),
        reading the user's globals and closure cells (name -> cell) as
        they are when it is compiled, and s2sad's runtime as
        `kernel_runtime` (as Python, `runtime`)."""
        numba_module()
        self.code = code
        self.user_globals, self.user_cells = user_globals, user_cells
        self.imports = imports
        self.fallback = fallback
        self.failed = None  # the refusal, once Numba could not compile it
        self.refused = set()  # the kinds of arguments it could not, then
        self.reruns = 0  # calls run again as Python (see the module)
        self._make()

    def _make(self):
        """Compile (lazily: Numba does on the first call) with the user's
        globals and cells as they are now."""
        from s2sad import kernel_runtime, runtime
        numba_module()
        code = self.code
        namespace = dict(self.user_globals)
        namespace.update((name, _contents(cell))
                         for name, cell in self.user_cells.items())
        namespace.update(self.imports)
        reads = _global_reads(code)
        # NumPy's functions of numbers warn (or, under np.errstate, raise)
        # where Numba's are silent: a result they may have made not finite
        # is computed again as Python. (Arithmetic on floats is IEEE's in
        # both, and the kernel's math functions raise as Python's.)
        self.numpy = any(namespace.get(name) is np for name in reads)
        # the user's values Numba freezes, to see them rebound
        self.frozen = [(name, namespace[name]) for name in sorted(reads)
                       if name in namespace and name not in self.imports]
        moved = _on_disk(code, {name: namespace[name] for name in reads
                                if name in namespace})
        code = moved or code
        self.python = types.FunctionType(code, namespace, code.co_name)
        namespace = {name: kernel_runtime.compiled_form(value) for name, value
                     in namespace.items()}
        namespace.update((name, kernel_runtime) for name, value in
                         self.imports.items() if value is runtime)
        # builtins that raise in Python where Numba's would not
        namespace.update(kernel_runtime.BUILTINS)
        self.function = types.FunctionType(code, namespace, code.co_name)
        self.cached = moved is not None
        self.compiled = self._dispatcher(self.cached)
        self.__name__ = self.__qualname__ = code.co_name

    def _dispatcher(self, cache):
        dispatcher = numba_module().njit(
            cache=cache, boundscheck=True,
            pipeline_class=_pipeline())(self.function)
        compile_for_args = dispatcher._compile_for_args

        def quietly(*args, **kwargs):
            # (Numba's advice on its own speed, as it compiles, is not the
            # user's; the calls that compile nothing pay nothing for this)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", _performance_warning())
                return compile_for_args(*args, **kwargs)
        dispatcher._compile_for_args = quietly
        return dispatcher

    @staticmethod
    def _kinds(args):
        """What Numba compiles a kernel for: the arguments' types (None for
        a value it has no type for)."""
        typeof = numba_module().typeof
        try:
            return tuple(typeof(a) for a in args)
        except Exception:
            return None

    def _compiled_for(self, args):
        """Did Numba compile the kernel for these arguments' types?"""
        return self._kinds(args) in self.compiled.overloads

    def _is_fresh(self):
        """Are the user's globals and cells it froze still those values?"""
        cells, user_globals = self.user_cells, self.user_globals
        for name, value in self.frozen:
            current = _contents(cells[name]) if name in cells else \
                user_globals.get(name, _MISSING)
            if current is not value:
                return False
        return True

    def __call__(self, *args):
        if not self._is_fresh():
            self._make()
        if self.failed is not None and self._kinds(args) in self.refused:
            return self.python(*args)
        for a in args:
            if a.__class__ is int and not -_INT64 <= a < _INT64:
                # (a Python int no 64-bit int holds: Numba would take it as
                # unsigned, or not at all)
                self.reruns += 1
                return self.python(*args)
        try:
            out = self.compiled(*args)
        except Exception as exc:
            if _is_numba_error(exc) or not self._compiled_for(args):
                return self._refused(exc, args)  # (it did not compile)
            # Python's own error, at the user's line (or its answer, where
            # Numba raised and Python does not)
            self.reruns += 1
            return self.python(*args)
        if self.numpy and not _finite(out) or _complex(out):
            self.reruns += 1
            return self.python(*args)
        return out

    def _refused(self, exc, args):
        if self.cached and not _is_numba_error(exc):
            # Numba's cache files may be damaged (a half-written file): the
            # kernel compiled again without them, and its files made anew
            with contextlib.suppress(Exception):
                self.compiled._cache.flush()
            self.cached = False
            self.compiled = self._dispatcher(False)
            return self(*args)
        refusal = refusal_of(exc, self.python)
        if self.fallback == "raise":
            raise refusal from None
        kinds = self._kinds(args)
        if kinds not in self.refused:  # (said once for each)
            warn_fallback(refusal)
        self.failed = refusal
        self.refused.add(kinds)
        return self.python(*args)


def warn_fallback(refusal):
    """Say once (per call site) that a gradient asked of Numba runs as
    Python, and why."""
    reason = re.split(r"; (?:leave out|use the default) ", refusal.message)[0]
    where = f"{refusal.filename}:{refusal.lineno}: " if refusal.filename \
        else ""
    warnings.warn(f"{where}{reason} (fallback='python': the Python "
                  "derivative runs instead)", FallbackWarning,
                  stacklevel=errors.user_stack_level())


def kernel_of(derivative):
    """The `Kernel` a gradient made with backend='numba' calls (a
    `Derivative`, or the generated function), or None: to see what it
    compiled (`.compiled.signatures`) and how often Python ran instead
    (`.reruns`)."""
    function = getattr(derivative, "__wrapped__", derivative)
    for cell in getattr(function, "__closure__", None) or ():
        try:
            if isinstance(cell.cell_contents, Kernel):
                return cell.cell_contents
        except ValueError:  # an empty cell
            pass
    return None


_PIPELINE = []


def _pipeline():
    """Numba's nopython compiler without its pruning of branches whose
    test it finds constant (`if FLAG:` of a module-level flag, `if 3.0 <=
    0.5:`): it would drop such a branch of one sweep and not the other's
    `if` on the taped or recomputed test, and leave a tape that only the
    branch fills with no type. LLVM still removes the dead code, after
    types are known."""
    if not _PIPELINE:
        from numba.core import untyped_passes
        from numba.core.compiler import CompilerBase, DefaultPassBuilder

        class KernelPipeline(CompilerBase):
            def define_pipelines(self):
                manager = DefaultPassBuilder.define_nopython_pipeline(
                    self.state)
                manager.passes = [
                    (kind, what) for kind, what in manager.passes
                    if kind is not untyped_passes.DeadBranchPrune]
                manager.finalize()
                return [manager]
        _PIPELINE.append(KernelPipeline)
    return _PIPELINE[0]


def _global_reads(code):
    """The global names a code object reads."""
    return {i.argval for i in dis.get_instructions(code)
            if i.opname == "LOAD_GLOBAL"}


def _performance_warning():
    return numba_module().core.errors.NumbaPerformanceWarning


def _is_numba_error(exc):
    numba = sys.modules.get("numba")
    return numba is not None and isinstance(exc, numba.core.errors.NumbaError)


def _complex(out):
    """Is a number of a kernel's result complex (a constant `(-8.0) **
    (1 / 3)` Numba computed: Python's gradient refuses it)?"""
    if isinstance(out, tuple):
        return any(_complex(o) for o in out)
    return isinstance(out, complex)


def _finite(out):
    """Are all numbers of a kernel's result finite?"""
    if isinstance(out, tuple):
        return all(_finite(o) for o in out)
    if isinstance(out, float):
        return math.isfinite(out)
    if isinstance(out, np.ndarray):
        return bool(np.isfinite(out).all())
    return True  # (an int, a bool, None)


_LOCATION = None  # re: Numba's `File "path", line N` in its messages


def refusal_of(exc, kernel):
    """The S2SADError for a kernel Numba cannot compile: the first line of
    Numba's reason, at the user's line it comes from."""
    global _LOCATION
    if _LOCATION is None:
        _LOCATION = re.compile(r'File "([^"]+)", line (\d+)')
    text = str(exc)
    filename, lineno = kernel.__code__.co_filename, None
    for found in _LOCATION.finditer(text):
        # (Numba names a file by its path relative to the directory the
        # process runs in)
        if found.group(1) == filename or os.path.realpath(
                found.group(1)) == os.path.realpath(filename):
            lineno = int(found.group(2))
    reason = next((line.strip() for line in text.splitlines()
                   if line.strip() and not line.startswith(
                       ("Failed in", "- Resolution", "File ", "During:"))),
                  type(exc).__name__)
    reason = reason.replace("\x1b[1m", "").replace("\x1b[0m", "")
    helper = re.search(r"module 's2sad\.kernel_runtime' has no attribute "
                       r"'(\w+)'", reason)
    if helper is None:
        helper = re.search(r"Untyped global name '(_\w+)'", reason)
    if helper:
        reason = (f"this line needs s2sad's runtime helper "
                  f"`{helper.group(1)}`, which has no version for Numba")
    if not helper:
        reason = f"Numba says {reason!r}"
    return errors.UnsupportedSyntaxError(
        f"backend='numba' cannot compile {kernel.__name__}: {reason}; use "
        "the default backend for this function, or fallback='python' to "
        "run its Python derivative where Numba cannot compile it",
        filename if lineno is not None else None, lineno)


_MISSING = object()
_INT64 = 2 ** 63


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return _MISSING


def _on_disk(code, reads):
    """The kernel's code, moved to a file of the cache directory (Numba
    caches only what has a file) named by a hash of its text, of the
    values of the globals it reads and of the versions; None where the
    disk cache is off or cannot hold it."""
    if not diskcache.enabled():
        return None
    key = _frozen(reads)
    if key is None:
        return None
    text = errors.source_text(code.co_filename)
    if text is None:
        return None
    numba = numba_module()
    digest = hashlib.sha256("\0".join([
        text, key, numba.__version__, np.__version__, sys.version,
        _helpers_version()]).encode()).hexdigest()[:20]
    root = os.path.join(diskcache.directory(), "numba")
    path = os.path.join(root, f"{code.co_name}_{digest}.py")
    try:
        if not os.path.exists(path):
            os.makedirs(root, mode=0o700, exist_ok=True)
            temporary = f"{path}.{os.getpid()}.tmp"
            with open(temporary, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, path)
    except OSError:
        return None
    errors.map_copy(code.co_filename, path, text)
    return code.replace(co_filename=path)


_HELPERS_VERSION = []


def _helpers_version():
    """A hash of the helpers a kernel compiles with (s2sad.kernel_runtime's
    source): machine code cached with others is not loaded."""
    if not _HELPERS_VERSION:
        from s2sad import kernel_runtime
        with open(kernel_runtime.__file__, "rb") as source:
            _HELPERS_VERSION.append(hashlib.sha256(source.read()).hexdigest())
    return _HELPERS_VERSION[0]


def _frozen(reads):
    """A text that tells apart the values of the globals a kernel reads,
    as Numba freezes them, or None for a value it cannot tell."""
    parts = []
    for name, value in sorted(reads.items(), key=lambda item: item[0]):
        if isinstance(value, (bool, int, float, complex, np.generic)):
            parts.append(f"{name}={type(value).__name__}:{value!r}")
        elif isinstance(value, np.ndarray):
            parts.append(f"{name}={value.dtype}{value.shape}:" + hashlib.sha256(
                np.ascontiguousarray(value).tobytes()).hexdigest())
        elif getattr(value, "__module__", "").startswith("s2sad.rules."):
            parts.append(f"{name}=rule:{value.__module__}.{value.__name__}")
        elif isinstance(value, type(math)):
            parts.append(f"{name}=module:{value.__name__}")
        elif value in (range, len, float, int, abs, min, max, bool):
            parts.append(f"{name}=builtin:{value.__name__}")
        else:
            return None
    return ";".join(parts)

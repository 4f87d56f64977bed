"""Cached derivation: look up, guard, transform, store.

`derive(func, argnums, ...)` returns the generated derivative of a Python
function, ready to call. The pipeline (parse, lower, transform, optimise,
emit) runs once per *transformation*: one per code object, module and
options, shared by every function made from that code (the closures one
`def` makes, call after call). What differs between such functions, their
closure cells and default values, is never part of a transformation: each
function gets an *instance* of it, the compiled code bound to that
function's own cells and defaults (and, for a helper called from a cell, to
the derivative of the helper in that cell), so the cache keeps no captured
value alive.

Never stale. Whatever the transformation resolved while it was generated is
recorded (`frontend.Source.resolved`): every free name and dotted name it
looked up (globals, builtins, closure cells, attributes of modules and
objects), the rule registry it consulted, and the generated derivatives of
the functions it calls by name, with their code and defaults. An instance
carries a guard, `__s2sad_fresh__()`, compiled from that record into one
Python expression read in the function's own namespace (`h is <h then> and
np.tanh is <np.tanh then> and type(C) is float and ...`): a function, class
or module must be the very object it was; any other value must still be of
the same type. A failed guard means the user changed something the derivative
was built on (a helper redefined in a notebook, a global rebound, a method
patched, a module reloaded, a new rule): `derive` then transforms again.
A guard tests only its own transformation's record; an instance carries the
guards of every generated function below it, each once, so a check costs
one guard per function of the call graph.

On disk. A transformation whose record can be described in another
process (see `diskcache`) is also written to disk; a process that misses
in memory reads it back (`_load`): each resolved name must describe the
same thing as when it was generated, the callees are derived again (from
disk too), and the compiled code and guard are bound as for a
transformation made here.

Thread safety: transformations run one at a time under one lock (reentrant:
a transformation derives its callees), and a transformation is stored only
when it is complete. The cycle collector, paused while transforming, is
enabled again when the outermost transformation ends.
"""

import collections
import gc
import importlib
import inspect
import marshal
import operator
import sys
import threading
import types
import weakref

import gast
import numpy as np

from s2sad import (
    calls, codegen, diskcache, errors, forward, frontend, inline, inplace,
    kernels, optimize, reverse, runtime, ssa, transform)
from s2sad.rules import registry

MAX_TRANSFORMATIONS = 512  # kept in the cache, least recently used dropped
MAX_VARIANTS = 8  # transformations of one code that differ in what they read

_LOCK = threading.RLock()
_CACHE = collections.OrderedDict()  # key -> [Transformation, ...]
_UNDER_WAY = set()  # keys of transformations in progress (recursion)
_BUILDS = []  # the transformations in progress, innermost last
_PAUSED = {"depth": 0, "collecting": False,  # the cycle collector's pause
           "recursion": None}  # and the recursion limit before the build
# The passes follow expressions and chains of versions of a value by
# recursion: a sum of 300 terms, or 1000 writes into one array, go deeper
# than Python's default limit of 1000 frames. A build may go as deep as
# its function's bytecode is long, up to what the C stack holds (Python
# 3.10 keeps a C frame per Python call; 3.11 and later do not).
_DEEPEST = 100000 if sys.version_info >= (3, 11) else 15000
stats = {"transformations": 0, "loaded": 0}  # for tests of the caches


def derive(func, argnums=0, has_aux=False, with_value=False,
           optimize_code=True, mode="reverse", owned=False, backend="python",
           fallback="raise"):
    """The generated derivative of the Python function `func`, fresh.

    Args:
        mode: "reverse" (a gradient), "vjp" (a forward sweep returning the
            value and residuals, with the backward sweep as `.backward`) or
            "forward" (a Jacobian-vector product `jvp_f(*args, *tangents)`)
            or "vector" (its vector mode, `jvps_f`, whose tangents carry a
            leading axis of directions: see `forward.transform`) or
            "linear" (vector mode of a function linear in argnums, such as
            a backward sweep in its cotangent: `batched_f`, returning only
            the tangents).
        owned: func is called on values only the derivative holds (by
            `grad`, `vjp` or `jvp`, not from generated code), so it may
            update its arguments in place: generated code never changes
            them. A gradient ("reverse") is always owned.
        backend: "python", or "numba": a gradient or jvp of code on
            numbers is compiled by Numba (see `kernels`); `fallback`
            ("raise" or "python") says what is done when Numba cannot: a
            refusal, or the Python derivative with one warning.

    Returns:
        A generated function bound to func's closure and defaults, with
        `.ssa` and its guard `__s2sad_fresh__` (`source_of` gives its
        source).
    """
    # A gradient of a gradient starts from the general variant: the float
    # specialisation is the same function, behind a test of its arguments.
    func = getattr(func, "__s2sad_general__", func)
    func = getattr(func, "__s2sad_realize__", lambda: func)()
    owned = owned or mode == "reverse"
    saving = getattr(func, SAVED_PRODUCTS, False)  # (see saving_products)
    key = _key(func, argnums, has_aux, with_value, optimize_code, mode,
               owned, backend, fallback) + (("products",) if saving else ())
    found = _lookup(key, func)
    if found is not None:
        return found
    with _LOCK:
        found = _lookup(key, func)  # another thread may have made it
        if found is not None:
            return found
        options = (argnums, has_aux, with_value, optimize_code, mode, owned,
                   backend, fallback)
        disk_key = None if saving else diskcache.key(func, options)
        transformation = _load(disk_key, key, func, options)
        if transformation is None:
            try:
                transformation = _build(key, func, *options)
            except errors.UnsupportedSyntaxError as exc:
                if backend == "python" or fallback != "python":
                    raise
                # refused as it was generated: the Python derivative, kept
                # under this key (the refusal said once)
                kernels.warn_fallback(exc)
                options = options[:6] + ("python", "raise")
                disk_key = None
                transformation = _build(key, func, *options)
            transformation.options = options
            if disk_key is not None:
                _save(disk_key, transformation)
        variants = _CACHE.setdefault(key, [])
        variants.insert(0, transformation)
        del variants[MAX_VARIANTS:]
        _CACHE.move_to_end(key)
        while len(_CACHE) > MAX_TRANSFORMATIONS:
            _CACHE.popitem(last=False)
        return transformation.instance(func)


def _key(func, argnums, has_aux, with_value, optimize_code, mode, owned,
         backend="python", fallback="raise"):
    """The key of a transformation in the cache (and in _UNDER_WAY)."""
    return (id(func.__code__), id(func.__globals__), argnums, has_aux,
            with_value, optimize_code, mode, owned, backend, fallback)


SAVED_PRODUCTS = "__s2sad_saved_products__"


def saving_products(function):
    """A copy of the Python function (or bound method) `function` whose
    derivative computes each matrix product of its own body (`a @ b`,
    `np.matmul(a, b)`) as `runtime.saved_product(a, b)`: kept while
    `runtime.record_products` records, given again while
    `runtime.replay_products` replays (`s2sad.checkpoint(fn,
    save="products")`)."""
    method = getattr(function, "__func__", None)
    if method is not None:
        return types.MethodType(saving_products(method), function.__self__)
    copy = _SAVING.get(function)
    if copy is not None:  # (one copy, made and transformed once)
        return copy
    copy = _SAVING[function] = types.FunctionType(
        function.__code__, function.__globals__, function.__name__,
        function.__defaults__, function.__closure__)
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__module__ = function.__module__
    setattr(copy, SAVED_PRODUCTS, True)
    return copy


_SAVING = weakref.WeakKeyDictionary()  # function -> its saving copy
_PRODUCTS = (operator.matmul, np.matmul)


def _save_products(func):
    """Make the matrix products of an SSA function's body saved products."""
    helpers = None
    for stmt in ssa.walk(func.body):
        if isinstance(stmt, ssa.Assign) and any(
                stmt.fn is f for f in _PRODUCTS) and len(stmt.args) == 2 \
                and not stmt.kwargs and not any(
                    isinstance(a, ssa.Spread) for a in stmt.args):
            if helpers is None:  # the name generated code reads runtime by
                helpers = next((n for n, v in func.imports.items()
                                if v is runtime), None)
                if helpers is None:
                    helpers = func.namer.fresh("runtime")
                    func.imports[helpers] = runtime
            stmt.fn = runtime.saved_product
            stmt.callee = gast.Attribute(gast.Name(
                helpers, gast.Load(), None, None), "saved_product",
                gast.Load())


def transformed(func, argnums, mode, cell=None):
    """The generated derivative of a callee that generated code calls by
    name (`mode` "vjp", "forward" or "vector"), or None while it is itself
    being generated (a recursive call). It is optimised if its caller is:
    `optimize=False` shows the whole chain as generated. The caller's guard
    covers it from then on.

    Args:
        cell: the name of the caller's closure cell the callee was read
            from (a decorator's `fn`, a helper made by the same factory):
            each instance of the caller then calls the derivative of the
            function in its own cell (see `name_cell_callee`).
    """
    optimize_code = _BUILDS[-1].optimize_code if _BUILDS else True
    key = _key(func, argnums, False, False, optimize_code, mode, False)
    if key in _UNDER_WAY:
        return None
    instance = derive(func, argnums, optimize_code=optimize_code, mode=mode)
    if _BUILDS:
        build = _BUILDS[-1]
        build.shown.append(instance)
        if cell is not None:
            build.cell_callees.append(_CellCallee(cell, func.__code__,
                                                  argnums, mode,
                                                  optimize_code))
        elif not any(f is func and i is instance for f, i in build.callees):
            build.callees.append((func, instance))
    return instance


def name_cell_callee(forward, backward=None):
    """The names the generated code calls the last cell callee's derivative
    by (its forward function, and backward sweep in reverse mode)."""
    _BUILDS[-1].cell_callees[-1].names = (forward, backward)


def clear_cache(disk: bool = False) -> None:
    """Forget every transformation (and the call bindings derived from
    them); with `disk`, also empty the disk cache (see `diskcache`).
    Gradients already made keep working and stay fresh."""
    with _LOCK:
        _CACHE.clear()
        calls.clear_cache()
        if disk:
            diskcache.clear()


def _lookup(key, func):
    """A fresh instance of a cached transformation for `func`, or None."""
    for transformation in tuple(_CACHE.get(key, ())):
        instance = transformation.instance(func)
        if not instance.__s2sad_fresh__():
            # a function in one of its cells rebound (to the same code):
            # binding anew may be enough
            instance = transformation.instance(func, anew=True)
        if instance.__s2sad_fresh__():
            try:
                _CACHE.move_to_end(key)
            except KeyError:  # dropped meanwhile by another thread
                pass
            return instance
    return None


class _Build:
    """What a transformation in progress records besides its Source."""

    def __init__(self, optimize_code):
        self.optimize_code = optimize_code
        self.callees = []  # (function, instance) called by name
        self.cell_callees = []  # _CellCallee: called by name, per instance
        self.shown = []  # every callee's instance, for `.source`
        self.inlined = None  # inline.Inlined: the helpers inlined


class _CellCallee:
    """A callee read from a closure cell: the caller's generated code is
    shared by every closure of its code, and each instance binds `names` to
    the derivative of the function in its own cell (which must have the
    same code)."""

    def __init__(self, cell, code, argnums, mode, optimize_code):
        self.cell, self.code = cell, code
        self.argnums, self.mode = argnums, mode
        self.optimize_code = optimize_code
        self.names = (None, None)


def _build(key, func, argnums, has_aux, with_value, optimize_code, mode,
           owned, backend="python", fallback="raise", only=None):
    """Run the pipeline under the lock, the cycle collector paused (with
    `only`, the part of that index alone: see `_transform`)."""
    _UNDER_WAY.add(key)
    build = _Build(optimize_code)
    _BUILDS.append(build)
    if _PAUSED["depth"] == 0:
        _PAUSED["collecting"] = gc.isenabled()
        # The passes make and drop many tree nodes and free them by
        # reference counting; the cycle collector would walk every live
        # object again and again, making large functions cost more than
        # linear time.
        gc.disable()
        _PAUSED["recursion"] = sys.getrecursionlimit()
    _PAUSED["depth"] += 1
    deep = min(_DEEPEST, 1000 + 2 * len(func.__code__.co_code))
    if deep > sys.getrecursionlimit():
        sys.setrecursionlimit(deep)
    try:
        with frontend.texts({}) as read:  # (for a disk entry)
            transformation = _transform(func, argnums, has_aux, with_value,
                                        optimize_code, mode, owned, build,
                                        only, backend)
        if only is None:
            transformation.texts = read
    finally:
        _UNDER_WAY.discard(key)
        _BUILDS.pop()
        _PAUSED["depth"] -= 1
        if _PAUSED["depth"] == 0:
            sys.setrecursionlimit(_PAUSED["recursion"])
            if _PAUSED["collecting"]:
                gc.enable()
    stats["transformations"] += 1
    return transformation


def _save(disk_key, transformation):
    """Write a transformation to the disk cache, if everything it was made
    from can be described in another process (see `diskcache.describe`)."""
    try:
        payload = _snapshot(transformation)
    except Exception:  # something it cannot describe: kept in memory
        payload = None
    if payload is not None:
        diskcache.write(disk_key, payload)


def _snapshot(t):
    """The disk entry of transformation `t`: plain values and code objects,
    or None when it cannot have one."""
    if t.cell_callees:  # bound per closure: kept in memory
        return None
    resolved, paths = [], {}
    for path, value in t.guard.resolved.items():
        described = ("absent",) if frontend.is_missing(value) else \
            diskcache.describe(value)
        if described is None:
            return None
        resolved.append((path, described))
        paths.setdefault(id(value), path)
    callees, helpers = [], []
    instances = [i for _, i in t.guard.callees if i is not None]
    for fn, instance in t.guard.callees:
        path = paths.get(id(fn))
        if path is None:
            return None
        if instance is None:  # a helper inlined
            helpers.append(path)
        else:
            callees.append((path, instance.__s2sad_transformation__.options,
                            instance.tangent_names))
    parts = []
    pending = any(isinstance(part, _Pending) for part in t._parts)
    for part in t._parts:
        if isinstance(part, _Pending):  # (made when first needed there)
            parts.append(("pending", part.name))
            continue
        imports = []
        for name, value in part.imports.items():
            described = _describe_import(value, instances)
            if described is None:
                return None
            imports.append((name, described))
        parts.append((part.code, part.text, tuple(imports), part.calls,
                      errors.line_map(part.code.co_filename), part.kernel))
    try:
        shown = [next(k for k, i in enumerate(instances) if i is s)
                 for s in t.shown]
    except StopIteration:
        return None
    # the test a Derivative makes on each call, compiled now (not again
    # when it is loaded)
    t.guard.checker_code(bool(callees), False)
    payload = dict(guard=(t.guard.code, t.guard.checkers),
                   resolved=resolved, callees=callees, helpers=helpers,
                   parts=parts, shown=shown, mode=t.mode, ssa=t.ssa,
                   texts=tuple((code, *read) for code, read in
                               t.texts.items()) if pending else (),
                   tangent_names=t.tangent_names)
    try:
        marshal.dumps(payload)
    except ValueError:  # an unexpected kind of value: kept in memory
        return None
    return payload


def _describe_import(value, instances):
    """An s2sad name of generated code (`runtime`, a rule's constant, a
    callee's derivative), as something to find again in another process."""
    for k, instance in enumerate(instances):
        if value is instance:
            return ("callee", k, "forward")
        if value is getattr(instance, "backward", None):
            return ("callee", k, "backward")
    if isinstance(value, types.ModuleType):
        return ("module", value.__name__)
    if value is None or type(value) in (bool, int, float, complex, str):
        return ("constant", value)
    module = getattr(value, "__module__", None)
    name = getattr(value, "__qualname__", None)
    if module and name and _imported(module, name) is value:
        return ("object", module, name)
    return None


def _imported(module, name):
    """The object `module.name` (a dotted name), importing the module."""
    value = importlib.import_module(module)
    for part in name.split("."):
        value = getattr(value, part, None)
    return value


def _load(disk_key, key, func, options):
    """The transformation of `func` made from its disk entry, or None: no
    entry, or one made from things that are no longer the same."""
    if disk_key is None:
        return None
    payload = diskcache.read(disk_key)
    if payload is None:
        return None
    _UNDER_WAY.add(key)  # a callee that calls back is dispatched, as made
    try:
        return _restore(payload, func, options)
    except Exception:  # (a callee's refusal is said when it is made again)
        return None  # made again, and the entry rewritten
    finally:
        _UNDER_WAY.discard(key)


def _restore(payload, func, options):
    code = func.__code__
    cells = dict(zip(code.co_freevars, func.__closure__ or ()))
    namespace = frontend.Source(func, None, code.co_filename,
                                code.co_firstlineno, [], func.__globals__,
                                cells)
    resolved = {}
    for path, described in payload["resolved"]:
        value = namespace.resolve_path(path)
        absent = frontend.is_missing(value)
        if absent != (described == ("absent",)) or not absent and \
                diskcache.describe(value) != described:
            return None
        resolved[path] = value
    build = _Build(options[3])
    for path, (argnums, _, _, optimize_code, mode, *_), tangent_names in \
            payload["callees"]:
        fn = resolved[path]
        instance = derive(fn, argnums, optimize_code=optimize_code,
                          mode=mode)
        if instance.tangent_names != tangent_names:
            return None  # the caller's code was made for another
        build.callees.append((fn, instance))
    instances = [i for _, i in build.callees]
    parts = []
    for stored in payload["parts"]:
        if stored[0] == "pending":
            parts.append(_Pending(stored[1]))
            continue
        part_code, text, imports, calls_name, line_map, kernel = stored
        values = {name: _import_value(d, instances) for name, d in imports}
        errors.register_source(part_code.co_filename, text)
        if line_map is not None:
            errors.map_lines(part_code.co_filename, *line_map)
        parts.append(_Part(part_code, values, calls_name, text, kernel))
    callees = build.callees + [(resolved[p], None)
                               for p in payload["helpers"]]
    guard = _Guard(resolved, callees, cells, [], payload["guard"])
    transformation = Transformation(
        func, parts, guard, payload["mode"], build,
        [instances[k] for k in payload["shown"]], ssa_text=payload["ssa"],
        tangent_names=payload["tangent_names"])
    transformation.options = options
    transformation.texts = {code: tuple(read)
                            for code, *read in payload["texts"]}
    live = [func] + [v for v in resolved.values() if inspect.isfunction(v)]
    for code, read in transformation.texts.items():
        for function in live:  # (the same code, read as it was then)
            if function.__code__ == code:
                frontend.remember(function.__code__, read)
    stats["loaded"] += 1
    return transformation


def _import_value(described, instances):
    kind = described[0]
    if kind == "callee":
        instance = instances[described[1]]
        return instance if described[2] == "forward" else instance.backward
    if kind == "module":
        return importlib.import_module(described[1])
    if kind == "constant":
        return described[1]
    return _imported(described[1], described[2])


def _transform(func, argnums, has_aux, with_value, optimize_code, mode,
               owned, build, only=None, backend="python"):
    """Parse, lower, transform, optimise and compile.

    A gradient's general version behind a variant is made when it is
    first needed (generated then too, behind a float variant; behind a
    float-array variant, whose decision reads it, optimised and compiled
    then): it is `_Pending` until then, and made again with `only` its
    index, which returns that `_Part` alone. (It costs a third of the
    first call, and many programs never call it.)"""
    try:
        source = frontend.parse(func)
        lowered = ssa.lower(source, owned)
        inplace.normalize(lowered)
        inlined = inline.inline(lowered) if optimize_code else None
        if getattr(func, SAVED_PRODUCTS, False):
            _save_products(lowered)
            if inlined is not None:
                _save_products(inlined.func)
        # the parts made now (of a gradient: not a variant's general one)
        made = None if mode != "reverse" or backend != "python" else \
            [0] if only is None else [only]
        if inlined is not None:
            try:
                generated = _generate(inlined.func, mode, argnums, has_aux,
                                      with_value, build, made, backend)
                lowered = inlined.func
                build.inlined = inlined
            except errors.S2SADError:  # said at the helper's own line
                inlined = None
        if inlined is None:
            generated = _generate(lowered, mode, argnums, has_aux,
                                  with_value, build, made, backend)
        made = range(len(generated)) if made is None else made
        for k in made if optimize_code else ():
            part = generated[k]
            optimize.optimize(part.tree, part.derivative_names,
                              part.runtime_name,
                              _resolver(part.imports, source),
                              arrays=not part.floats, compiled=part.kernel,
                              float_values=part.float_values)
        if optimize_code and mode == "vjp":
            optimize.prune_residuals(generated[0].tree, generated[1].tree)
        for k in made:
            if generated[k].kernel:
                transform.kernel_forms(generated[k],
                                       _resolver(generated[k].imports, source))
        per_instance = {n for c in build.cell_callees for n in c.names}
        parts = []
        for k, part in enumerate(generated):
            if k not in made:
                parts.append(_Pending(part.name))
                continue
            text = codegen.to_source(part.tree)
            parts.append(_Part(codegen.compile_code(
                text, part.tree.name,
                {*part.imports, *source.cells, *_called(part.calls)},
                part.tree, (source.filename, source.first_line),
                closure=not part.kernel),
                {k: v for k, v in part.imports.items()
                 if k not in per_instance}, part.calls, text, part.kernel))
        if only is not None:
            return parts[only]
        guard = _Guard(*_guarded(source, build), source.cells,
                       build.cell_callees)
    except errors.S2SADError:
        raise
    except RecursionError:
        raise errors.UnsupportedSyntaxError(
            f"{func.__qualname__} is too long or nests too deeply for s2sad "
            "(an expression of thousands of terms, or thousands of updates "
            "of one value); split it into functions or shorter expressions",
            func.__code__.co_filename, func.__code__.co_firstlineno) from None
    except Exception as exc:  # a bug in s2sad, not in the user's code
        raise errors.S2SADInternalError(
            f"s2sad failed on {func.__qualname__}: {type(exc).__name__}: "
            f"{exc}; please report this with the function",
            func.__code__.co_filename, func.__code__.co_firstlineno) from exc
    return Transformation(
        func, parts, guard, mode, build, list(build.shown),
        ssa_text=ssa.to_source(lowered),
        tangent_names=generated[0].tangent_names)


def _called(calls):
    """The names of the later parts a part calls (see `_Part.calls`)."""
    if calls is None:
        return ()
    return (calls,) if isinstance(calls, str) else calls


def _guarded(source, build):
    """What a transformation's guard tests: (every name resolved, with
    those of the helpers inlined, read in the same namespace; the callees
    whose code and defaults must not change, as (function, derivative or
    None for an inlined helper))."""
    resolved = dict(source.resolved)
    callees = list(build.callees)
    if build.inlined is not None:
        for helper in build.inlined.sources:
            resolved.update(helper.resolved)
        callees += [(h, None) for h in build.inlined.helpers]
    return resolved, callees


def _generate(lowered, mode, argnums, has_aux, with_value, build,
              wanted=None, backend="python"):
    """The generated functions of a lowered function (of a gradient, those
    `wanted`, at least: see `reverse.transform`); what the build recorded
    is undone if this raises."""
    recorded = (len(build.callees), len(build.cell_callees), len(build.shown))
    if build.optimize_code and mode != "vjp":
        inplace.update_in_place(lowered, mode)
    try:
        if mode in ("forward", "vector", "linear"):
            return forward.transform(lowered, argnums, backend,
                                     vector=mode != "forward",
                                     linear=mode == "linear")
        if mode == "vjp":
            return reverse.transform_vjp(lowered, argnums)
        return reverse.transform(lowered, argnums, has_aux, with_value,
                                 wanted, backend)
    except errors.S2SADError:
        callees, cell_callees, shown = recorded
        del build.callees[callees:], build.cell_callees[cell_callees:]
        del build.shown[shown:]
        raise


def _resolver(imports, source):
    """What a free name of generated code is, as far as the optimiser may
    rely on it: closure cells can change between calls, so they are not."""
    def resolve(name):
        if name in imports:
            return imports[name]
        if name in source.cells:
            return None
        value = source.lookup(name)
        return None if frontend.is_missing(value) else value
    return resolve


def _chain_source(own, callees):
    """The generated source of a function and, after it, of the generated
    functions of the user code it calls (each once)."""
    texts = [own]
    for callee in callees:
        text = source_of(callee)
        if all(text not in t for t in texts):
            texts.append(text)
    return "\n\n".join(texts)


class _Part:
    """One compiled generated function of a transformation (a gradient, its
    float variant's fallback, a vjp's backward sweep)."""

    def __init__(self, code, imports, calls, text, kernel=False):
        self.code = code
        self.text = text  # its source
        # s2sad's own free names as cells, shared by every instance
        self.cells = {name: types.CellType(value)
                      for name, value in imports.items()}
        # the name it calls the next part by, or a tuple of the names it
        # calls the next parts by, in order; or None
        self.calls = calls
        # a kernel that Numba compiles (see `kernels`): its free names are
        # globals (Numba freezes them), and its function a `kernels.Kernel`
        self.kernel = kernel

    @property
    def imports(self):
        """s2sad's own free names -> what they hold."""
        return {name: cell.cell_contents for name, cell in self.cells.items()}


class _Pending:
    """The last part of a transformation, not made yet (see `_transform`):
    the name of its function."""

    def __init__(self, name):
        self.name = name


def source_of(instance):
    """The generated source of a generated function (`derive`'s), with
    that of the callees it calls after it."""
    return instance.__s2sad_transformation__.source


def complete(instance):
    """Make the part a generated function's stand-in holds back (see
    `Transformation._pending`), as its first call would."""
    general = getattr(instance, "__s2sad_general__", None)
    getattr(general, "__s2sad_realize__", lambda: None)()


class Transformation:
    """The generated code of one function's code object, for any function
    made from it; `instance(func)` binds it to func's cells and defaults."""

    def __init__(self, func, parts, guard, mode, build, shown, ssa_text,
                 tangent_names):
        self.code = func.__code__  # keeps the cache key's id unique
        self.options = None  # derive's (argnums, ..., mode, owned)
        self.shown = shown  # the callees whose source follows its own
        self.globals = func.__globals__
        # the entry point first; the last may be _Pending, made later from
        # the function (or another of this code) and the source texts the
        # rest was read from (`frontend.remember`; those a disk entry keeps)
        self._parts = parts
        self._function = weakref.ref(func)
        self.texts = {}
        self._source = None
        self.guard = guard
        self.callees = [instance for _, instance in build.callees]
        self.cell_callees = build.cell_callees
        self.mode = mode
        self.ssa = ssa_text
        self.tangent_names = tangent_names
        self.shared = None  # the instance of closure-free functions
        self.instances = weakref.WeakKeyDictionary()  # func -> instance

    @property
    def parts(self):
        """The compiled parts, the entry point first (one pending made)."""
        return [self.realize(k) for k in range(len(self._parts))]

    @property
    def own_source(self):
        """Its own generated source (every part)."""
        return "\n\n".join(part.text for part in self.parts)

    @property
    def source(self):
        """Its generated source, and that of the callees after it."""
        if self._source is None:
            self._source = _chain_source(self.own_source, self.shown)
        return self._source

    def realize(self, k, func=None):
        """Part k, made now if it is pending, from `func` (a function of
        this code: its cells and defaults) or another one."""
        part = self._parts[k]
        if not isinstance(part, _Pending):
            return part
        with _LOCK:
            part = self._parts[k]
            if isinstance(part, _Pending):
                func = func or self._function() or next(
                    iter(self.instances.keys()), None) or self.remade({})
                part = self._parts[k] = _build(
                    ("part", k, id(self)), func, *self.options, only=k)
                self._source = None
        return part

    def remade(self, cells, made=None):
        """A function of this code with these closure `cells` (a name ->
        cell dict), and the defaults of `made`, a generated function made
        for it: what a part is made from when the function it was made
        for is gone."""
        remade = types.FunctionType(
            self.code, self.globals, self.code.co_name,
            getattr(made, "__defaults__", None),
            tuple(cells.get(name) or types.CellType()
                  for name in self.code.co_freevars) or None)
        remade.__kwdefaults__ = getattr(made, "__kwdefaults__", None)
        remade.__qualname__ = getattr(self.code, "co_qualname",
                                      self.code.co_name)
        return remade

    def instance(self, func, anew=False):
        """The generated function bound to `func` (made once per function,
        dropped with it; `anew`: made again, for cells that changed)."""
        if func.__closure__ is None and self.shared is not None and \
                _same_defaults(self.shared, func):
            return self.shared
        instance = self.instances.get(func)
        if anew or instance is None or not _same_defaults(instance, func):
            instance = self._instantiate(func)
            if func.__closure__ is None and self.shared is None:
                self.shared = instance
            else:
                self.instances[func] = instance
        return instance

    def _instantiate(self, func):
        user = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
        # guards: this code's own, then those of every generated function it
        # calls (each once: a guard does not call its callees' guards, so
        # the cost is the number of functions, not of paths to them)
        own, guard_cells = self.guard.instance(self.globals, user)
        guards = [own]
        cells = {}
        for callee in self.cell_callees:
            fn = _contents(user.get(callee.cell))
            if getattr(fn, "__code__", None) is not callee.code:
                continue  # another function: the own guard fails
            generated = derive(fn, callee.argnums, mode=callee.mode,
                               optimize_code=callee.optimize_code)
            forward, backward = callee.names
            cells[forward] = types.CellType(generated)
            if backward is not None:
                cells[backward] = types.CellType(generated.backward)
            guards += generated.__s2sad_guards__
        for generated in self.callees:
            guards += generated.__s2sad_guards__
        guards += getattr(func, "__s2sad_guards__", ())  # generated primal
        guards = tuple({id(g): g for g in guards}.values())
        fresh = _all(guards)
        later = None
        laters = []  # the functions of the parts after this one, in order
        for k in reversed(range(len(self._parts))):
            part = self._parts[k]
            if isinstance(part, _Pending):
                made = self._pending(k, func, user, cells, fresh, guards)
            elif part.kernel:
                made = self._kernel(part, user)
            else:
                made = self._made(part, func, user, cells, laters, fresh,
                                  guards)
            laters.insert(0, made)
            if self.mode == "vjp":
                made.backward = later
            elif later is not None:
                # (the entry of a kernel's: the general gradient after it)
                made.__s2sad_general__ = later.__s2sad_general__ if \
                    isinstance(later, kernels.Kernel) else later
                link = getattr(later, "__s2sad_link__", None)
                if link is not None:  # where the stand-in's part goes
                    link.append((made, part.calls))
            later = made
        later.ssa = self.ssa
        later.tangent_names = self.tangent_names
        later.__s2sad_transformation__ = self
        later.__s2sad_guard_cells__ = guard_cells
        return later

    def _made(self, part, func, user, cells, laters, fresh, guards):
        """The function of a compiled part for func's cells (`user`, and
        the callees' per instance), calling `laters` (the functions of the
        parts after it, in order) next."""
        made_cells = {**part.cells, **user, **cells}
        for name, function in zip(_called(part.calls), laters):
            made_cells[name] = types.CellType(function)
        later = laters[0] if laters else None
        made = types.FunctionType(
            part.code, self.globals, part.code.co_name, None,
            tuple(made_cells.get(name) or types.CellType()
                  for name in part.code.co_freevars))
        made.__s2sad_fresh__, made.__s2sad_guards__ = fresh, guards
        if not (self.mode == "vjp" and later is None):  # not a backward
            made.__defaults__ = func.__defaults__
            made.__kwdefaults__ = func.__kwdefaults__
        return made

    def _kernel(self, part, user):
        """The `kernels.Kernel` of a kernel part, reading the user's globals
        and cells as they are now (as Numba freezes them)."""
        return kernels.Kernel(part.code, self.globals, user, part.imports,
                              self.options[7])

    def _pending(self, k, func, user, cells, fresh, guards):
        """A stand-in for the pending part k (the last), which makes it
        when first called and puts it where the part before it reads it
        (that part's cell, and its `__s2sad_general__`); it holds no
        reference to func, an instance of which holds it (weakly keyed)."""
        function = weakref.ref(func)
        link = []  # (the function of the part before it, the name it
        made = []  # reads this one by), once made; then the part's

        def realize():
            if not made:
                now = function() or self.remade(
                    user, link[0][0] if link else None)
                real = self._made(self.realize(k, now), now, user, cells,
                                  [], fresh, guards)
                made.append(real)
                for caller, calls in link:
                    caller.__s2sad_general__ = real
                    for name, cell in zip(caller.__code__.co_freevars,
                                          caller.__closure__):
                        if name == calls:
                            cell.cell_contents = real
            return made[0]

        def pending(*args, **kwargs):
            return realize()(*args, **kwargs)
        pending.__name__ = pending.__qualname__ = self._parts[k].name
        pending.__s2sad_realize__, pending.__s2sad_link__ = realize, link
        pending.__s2sad_fresh__, pending.__s2sad_guards__ = fresh, guards
        return pending


def _unchanged(function, code, defaults, kwdefaults):
    """Guard text: the function named `function` still has the code and
    defaults held by the other names."""
    return (f"{function}.__code__ is {code} and "
            f"{function}.__defaults__ is {defaults} and "
            f"{function}.__kwdefaults__ is {kwdefaults}")


def _same_defaults(instance, func):
    return instance.__defaults__ is func.__defaults__ and \
        instance.__kwdefaults__ is func.__kwdefaults__


def _contents(cell):
    try:
        return cell.cell_contents
    except (AttributeError, ValueError):  # no such cell, or empty
        return None


def _all(guards):
    """One guard that passes when all of `guards` do."""
    if len(guards) == 1:
        return guards[0]

    def fresh():
        for guard in guards:
            if not guard():
                return False
        return True
    return fresh


class _Guard:
    """The freshness test of a transformation's own resolutions, compiled
    once: one Python expression over what it resolved, read where the
    user's function reads it (its module, builtins, its closure cells)."""

    def __init__(self, resolved, callees, user_cells, cell_callees,
                 compiled=None):
        self.resolved, self.callees = resolved, callees  # see `_guarded`
        tests = ["_s2sad_registry.version == _s2sad_version"]
        cells = {"_s2sad_registry": registry,
                 "_s2sad_version": registry.version, "_s2sad_type": type}
        self.per_instance = {}  # guard name -> the user cell it holds
        called = {c.cell for c in cell_callees}
        for k, (path, value) in enumerate(resolved.items()):
            expected = f"_s2sad_e{k}"
            read = ".".join(path)
            if frontend.is_missing(value):  # (a name the code raises at)
                tests.append(f"_s2sad_absent(lambda: {read})")
                cells["_s2sad_absent"] = _absent
                continue
            if path[0] in user_cells and len(path) == 1 and \
                    inspect.isfunction(value) and \
                    registry.lookup(value) is None:
                # a function of the user's in a closure cell: each instance
                # has its own (called by name: the one it was made with)
                if path[0] in called:
                    # the same function, with the code the transformation
                    # was made for and the defaults its derivative was
                    tests.append(f"{read} is {expected} and " + _unchanged(
                        expected, f"_s2sad_c{k}", f"{expected}d",
                        f"{expected}w"))
                    self.per_instance[expected] = path[0]
                    cells[f"_s2sad_c{k}"] = value.__code__
                else:  # only read (passed on, called at run time)
                    tests.append(f"_s2sad_type({read}) is {expected}")
                    cells[expected] = types.FunctionType
                continue
            if isinstance(value, types.MethodType) and isinstance(
                    value.__func__, types.FunctionType) and len(path) > 1:
                # a method of the user's, bound to the object the code
                # reads by name when it runs (`ARM.tip`): the same function
                # bound to whatever object that is (a new one each call,
                # as a training loop makes, is no change to the code)
                tests.append(f"{read}.__func__ is {expected} and "
                             f"{read}.__self__ is {'.'.join(path[:-1])}")
                cells[expected] = value.__func__
            elif _is_code(value):
                # a bound method is made anew at each read: same function
                # and same object
                same = "==" if _is_bound(value) else "is"
                tests.append(f"{read} {same} {expected}")
                cells[expected] = value
                method = calls.call_method(value)
                if method is not None:  # an object called: its class's method
                    tests.append(f"_s2sad_type({read}).__call__ is "
                                 f"{expected}m")
                    cells[f"{expected}m"] = method
            else:  # data: only its kind may have shaped the code
                tests.append(f"_s2sad_type({read}) is {expected}")
                cells[expected] = type(value)
        for k, (callee, _) in enumerate(callees):
            # the code and defaults a callee's derivative was made for (the
            # same object may have been given new ones)
            names = [f"_s2sad_{part}{k}" for part in "fcdw"]
            tests.append(_unchanged(*names))
            cells.update(zip(names, (callee, callee.__code__,
                                     callee.__defaults__,
                                     callee.__kwdefaults__)))
        self.cells = {name: types.CellType(value)
                      for name, value in cells.items()}
        self.tests = tests
        self.free = set(self.cells) | set(user_cells) | {
            f"{name}{suffix}" for name in self.per_instance
            for suffix in ("", "d", "w")}
        if compiled is None:  # (code, checkers) kept on disk
            compiled = self._compile(()), {}
        self.code = compiled[0]
        self.checkers = dict(compiled[1])  # extra tests -> code (`checker`)

    def _compile(self, extra):
        text = ("def _s2sad_fresh():\n    try:\n        return (\n"
                + " and\n".join(f"            {t}"
                                 for t in self.tests + list(extra))
                + ")\n    except Exception:  # a name gone: not fresh\n"
                "        return False\n")
        return codegen.compile_code(text, "_s2sad_fresh", self.free | {
            name for test in extra for name in _PRIMAL_NAMES if name in test})

    def instance(self, user_globals, user_cells):
        """(the guard bound to one function's cells, those cells)."""
        cells = {**self.cells, **user_cells}
        for name, cell in self.per_instance.items():
            value = _contents(user_cells.get(cell))
            cells[name] = types.CellType(value)
            cells[f"{name}d"] = types.CellType(
                getattr(value, "__defaults__", None))
            cells[f"{name}w"] = types.CellType(
                getattr(value, "__kwdefaults__", None))
        return self._bind(self.code, user_globals, cells), cells

    def checker(self, instance, func, others, outer):
        """One function testing, inline, this guard (with the cells of
        `instance`), that `func` still has the code and defaults the
        instance was made with, `others` (the guards of what it calls) and
        `outer`: a Derivative's test on each call, with no call between."""
        code = self.checker_code(bool(others), outer is not None)
        primal = dict(zip(_PRIMAL_NAMES, (
            func, func.__code__, func.__defaults__, func.__kwdefaults__,
            _all(others), outer)))
        cells = instance.__s2sad_guard_cells__
        return types.FunctionType(
            code, instance.__globals__, "_s2sad_fresh", None,
            tuple(types.CellType(primal[name]) if name in primal
                  else cells[name] for name in code.co_freevars))

    def checker_code(self, others, outer):
        """The code of `checker`, for whether there are `others` and an
        `outer` test."""
        key = (others, outer)
        code = self.checkers.get(key)
        if code is None:
            code = self.checkers[key] = self._compile(
                [_PRIMAL_TEST] + (["_s2sad_others()"] if others else [])
                + (["_s2sad_outer()"] if outer else []))
        return code

    @staticmethod
    def _bind(code, user_globals, cells):
        return types.FunctionType(
            code, user_globals, "_s2sad_fresh", None,
            tuple(cells[name] for name in code.co_freevars))


_PRIMAL_NAMES = ("_s2sad_fn", "_s2sad_fncode", "_s2sad_fndefaults",
                 "_s2sad_fnkwdefaults", "_s2sad_others", "_s2sad_outer")
_PRIMAL_TEST = _unchanged(*_PRIMAL_NAMES[:4])


def _absent(read):
    """Is the name `read` reads (a function of none) still not defined?"""
    try:
        read()
    except (NameError, AttributeError):
        return True
    return False


def checker(func, instance, outer=None):
    """A function testing on each call that `instance`, the generated code
    of `func`, is fresh and `func` unchanged, with its own guard inline
    (see `_Guard.checker`); `outer` is one more test."""
    guard = instance.__s2sad_transformation__.guard
    others = instance.__s2sad_guards__[1:]
    return guard.checker(instance, func, others, outer)


def _is_code(value):
    """Is `value` something the generated code's shape depends on by
    identity (a function, class, module or callable object) rather than a
    value it only reads (a number, an array, a list)?"""
    return callable(value) or isinstance(value, types.ModuleType)


def _is_bound(value):
    self = getattr(value, "__self__", None)
    return isinstance(value, (types.MethodType, types.BuiltinMethodType)) \
        and self is not None and not isinstance(self, types.ModuleType)

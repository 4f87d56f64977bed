"""The public API: grad, value_and_grad, show, check_grads; and the cache.

    @s2sad.grad(argnums=(0, 1))
    def f(x, y):
        return x ** 2 * y + y + 2

    f(3.0, 4.0)      # (24.0, 10.0)
    print(f.source)  # the generated Python
    print(f.ssa)     # the SSA form it came from

The pipeline and its cache live in `derive`; this module takes any
callable the user hands it to the function s2sad differentiates (`_derived`)
and gives the derivative its public shape.
"""

import functools
import hashlib
import inspect
import linecache
import marshal
import math
import operator
import sys
import time
import types
import weakref
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from s2sad import (
    calls, derive, errors, frontend, kernels, reverse, runtime, specialise,
    ssa)

Argnums = Union[int, Sequence[int]]

stats = derive.stats  # counted for tests of the cache
clear_cache = derive.clear_cache


def _located(function, wrap=True):
    """An entry point of the API: an exception leaving it is pointed at
    the user's code it passed through (`errors.locate`). (`wrap`: with
    function's name and docstring, as functools.wraps gives them; a
    function made on each call, such as a vjp's pullback, has its own.)"""
    def entry(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            errors.locate(exc)
            raise
    return functools.wraps(function)(entry) if wrap else entry


def _not_differentiated(instead, name=None):
    """Mark an entry point of the API that s2sad does not differentiate
    when a differentiated function calls it: `calls.callee` refuses the
    call at the user's line, naming it `s2sad.<name>` (its own name by
    default), and suggests `instead`."""
    def mark(entry):
        entry.__s2sad_not_differentiated__ = (name or entry.__name__,
                                              instead)
        return entry
    return mark


class Derivative:
    """What `grad` and `value_and_grad` return: a callable that computes the
    derivative with the code s2sad generated, kept fresh.

    Each call first checks, with identity tests that cost well under a
    microsecond, that nothing the generated code was built on has changed
    since it was generated (a helper redefined, a global or closure cell
    rebound, a method patched, a new rule, the function's own code or
    defaults); if something has, the derivative is generated again. It
    pickles by reference to the function it differentiates, so worker
    processes derive it again on load.

    Attributes:
        fun: the callable it differentiates.
        source: the generated Python (the callees' generated code after it).
        ssa: the SSA form of the function it was generated from.
    """

    @_located
    def __init__(self, f: Callable, argnums: Argnums = 0,
                 has_aux: bool = False, with_value: bool = False,
                 optimize: bool = True, holomorphic: bool = False,
                 allow_int: bool = False, backend: str = "python",
                 fallback: str = "raise"):
        self.fun = self._f = f
        argnums = _counted_from_start(f, argnums)
        kernels.check_backend(backend, fallback)
        self._options = (argnums, has_aux, with_value, optimize,
                         holomorphic, allow_int, backend, fallback)
        self._inputs = (argnums,) if isinstance(argnums, int) else argnums
        # the inputs a call checks for the quick path; holomorphic
        # derivatives always take the checked one (an input past the last
        # is missing, which sends a call there)
        self._plain_inputs = self._inputs if not holomorphic else (
            sys.maxsize,)
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            value = getattr(f, name, None)
            if isinstance(value, str):
                setattr(self, name, value)
        self._entry, self._calls = None, 0
        try:
            self._refresh()
        except errors.NameResolutionError:
            # a name defined further down the module or in a later cell:
            # Python needs it only when the function runs, and so do we
            self._fresh = _stale

    @property
    def __s2sad_closure__(self):
        """The closure it differentiates, whose values it binds (see
        `runtime.bound`), or None."""
        f = self._f
        if isinstance(f, functools.partial) or getattr(
                f, "__s2sad_closure__", None) is not None:
            return f
        return None

    # slots: the attributes each call reads are the quickest to read
    __slots__ = ("_fresh", "_target", "_entry", "_calls", "_instance",
                 "_current", "_f", "_options", "_inputs", "_plain_inputs",
                 "fun", "__dict__", "__weakref__")

    def __call__(self, *args, **kwargs):
        try:
            if self._fresh():
                # the code specialised, _COUNTING (not yet), or None
                entry = self._entry
                if entry is not None and entry is not _COUNTING:
                    # (without keywords, no dict passed on: a call's cost)
                    return entry(*args, **kwargs) if kwargs else entry(*args)
                # float, NumPy float64 and float-array inputs need no
                # check: the quick path (`_quick`, inlined)
                for i in self._plain_inputs:
                    a = args[i] if i < len(args) else None
                    if a.__class__ is not float and a.__class__ is not \
                            np.float64 and (a.__class__ is not np.ndarray
                                            or a.dtype.kind != "f"):
                        return self._checked_call(args, kwargs)
                if entry is not None:  # (_COUNTING)
                    return self._counted_call(args, kwargs)
                return self._target(*args, **kwargs) if kwargs else \
                    self._target(*args)
            return self._call_stale(*args, **kwargs)
        except errors.OneElementOutput:
            return self._one_element(args, kwargs)
        except Exception as exc:
            refusal = self._call_refusal(exc, args, kwargs)
            if refusal is not None:
                errors.locate(refusal)
                raise refusal from None
            errors.locate(exc)
            raise

    def _quick(self, *args, **kwargs):
        """The generated code's call, as `__call__` makes it before the
        code is specialised: at once for float, NumPy float64 and
        float-array inputs, which need no check."""
        if all(map(_plain_input, [args[i] if i < len(args) else None
                                  for i in self._plain_inputs])):
            return self._target(*args, **kwargs)
        return self._checked_call(args, kwargs)

    def _counted_call(self, args, kwargs):
        """A call (of inputs the quick path takes) before the code is
        specialised to the kinds of its arguments (see `s2sad.specialise`).
        Specialising takes milliseconds, which a derivative called a few
        times would not win back: it is done once the calls have taken
        longer than `specialise.worth` (ten times what specialising is
        expected to cost), as measured at the 2nd, 4th, 8th, ... call
        (each call since taken to be as long), or at the first call with
        `specialise.AT_ONCE`. It is tried once, and the code it makes
        runs from the next call on. (What the specialised code holds
        reaches the derivative through a weak reference: no reference
        cycle keeps it alive.)"""
        self._calls += 1
        calls = self._calls
        if specialise.AT_ONCE:
            result = None
        elif calls < 2 or calls & (calls - 1):  # (not measured)
            return self._target(*args, **kwargs)
        else:
            start = time.perf_counter()
            result = self._target(*args, **kwargs)
            if calls * (time.perf_counter() - start) < specialise.worth(
                    self._current):
                return result
        self._entry = None
        ref = weakref.ref(self)
        made = specialise.specialised(
            self._current, args, kwargs, functools.partial(_turned_away, ref),
            self._plain_inputs)
        if made is not None:
            self._entry = made if specialise.CHECKED is None else \
                functools.partial(specialise.CHECKED, made,
                                  functools.partial(_quick_of, ref))
        if not specialise.AT_ONCE:
            return result
        return (self._entry or self._target)(*args, **kwargs)

    @property
    def specialised_source(self):
        """The generated code specialised to the kinds of the arguments it
        was called with (see `s2sad.specialise`), or None: not called
        often enough yet, or nothing to specialise."""
        entry = getattr(self._entry, "args", (self._entry,))[0]
        shown = getattr(entry, "__s2sad_specialised__", None)
        if shown is None or not self._fresh():
            return None
        if callable(shown):  # (printed once, when first asked for)
            shown = entry.__s2sad_specialised__ = shown()
        return shown

    def _call_refusal(self, exc, args, kwargs):
        """The refusal, naming the function differentiated, of arguments
        that do not fit it (see `_arguments_refusal`), or None."""
        return _arguments_refusal(exc, self._f, args, kwargs, "grad")

    def _checked_call(self, args, kwargs):
        """A call refusing integer inputs (unless allow_int) and, for a
        holomorphic derivative, real ones; with allow_int, an integer
        input's gradient is a zero of its shape in float (JAX's float0
        zeros)."""
        argnums, has_aux, with_value, _, holomorphic, allow_int = \
            self._options[:6]
        given = [i for i in self._inputs if i < len(args)]
        _check_inputs(self._f, args, given, holomorphic, allow_int, "grad")
        integers = [i for i in given if _input_kind(args[i]) == "int"]
        if holomorphic:
            value, grads, aux = _holomorphic_grad(self._f, argnums, has_aux,
                                                  args, kwargs)
            if with_value:
                return ((value, aux) if has_aux else value), grads
            return (grads, aux) if has_aux else grads
        if not integers and self._entry is _COUNTING and all(
                _plain_input(args[i]) or _floats(args[i])
                for i in given) and self._fresh():
            # (lists of floats: specialised too, behind a guard that sends
            # other lists here again)
            return self._counted_call(args, kwargs)
        out = self._call_fresh(args, kwargs)
        if not integers:
            return out
        # the gradients of integer inputs (or integer leaves of a tuple,
        # list or dict input) are zeros; float leaves keep theirs
        grads = out[1] if with_value else (out[0] if has_aux else out)
        if isinstance(argnums, int):
            grads = _zero_integer_leaves(args[argnums], grads)
        else:
            grads = tuple(_zero_integer_leaves(args[i], g) if i in integers
                          else g for i, g in zip(argnums, grads))
        if with_value:
            return out[0], grads
        return (grads, out[1]) if has_aux else grads

    def _call_fresh(self, args, kwargs):
        try:
            if self._fresh():
                return self._target(*args, **kwargs)
            return self._call_stale(*args, **kwargs)
        except errors.OneElementOutput:
            return self._one_element(args, kwargs)

    @_located
    def _one_element(self, args, kwargs):
        """The gradient of an output of one element (shape (1,) or (1, 1)),
        as autograd gives it: the vjp with a cotangent of ones."""
        argnums, has_aux, with_value = self._options[:3]
        if kwargs or has_aux:
            raise errors.GradientShapeError(
                f"grad of {calls.name_of(self._f)} requires a scalar output, "
                "got an array of one element; return its only element "
                "(`y[0]`, `y.item()` or `np.sum(y)`) when using keywords "
                "or has_aux")
        value, vjp_fn = vjp(self._f, *args)
        cotangents = vjp_fn(np.ones(np.shape(value)))
        grads = cotangents[argnums] if isinstance(argnums, int) else tuple(
            cotangents[i] for i in argnums)
        return (value, grads) if with_value else grads

    def _call_stale(self, *args, **kwargs):
        self._refresh()
        return self._quick(*args, **kwargs)

    def _refresh(self):
        self._instance, self._current, self._fresh = _derived(
            self._f, self._options[0], None, **self._derive_options())
        target = self._current
        if calls.has_rule(self._f):  # np.tanh: a wrapper per arity
            target = functools.partial(_by_arity, self._f, self._options[0],
                                       self._derive_options())
        self._target = target
        backend, holomorphic = self._options[6], self._options[4]
        self._calls = 0
        self._entry = _COUNTING if backend == "python" and not holomorphic \
            and target is self._current and isinstance(
                target, types.FunctionType) else None

    def _derive_options(self):
        _, has_aux, with_value, optimize = self._options[:4]
        backend, fallback = self._options[6:]
        return dict(has_aux=has_aux, with_value=with_value,
                    optimize_code=optimize, mode="reverse", backend=backend,
                    fallback=fallback)

    def __s2sad_current__(self):
        """The generated function as it is now, with the arguments a bound
        method or partial fixes (for derivatives of derivatives)."""
        self._fresh_instance()
        return self._current

    def __s2sad_is_fresh__(self):
        return self._fresh()

    def _fresh_instance(self):
        if not self._fresh():
            self._refresh()
        return self._instance

    @property
    def source(self):
        return derive.source_of(self._fresh_instance())

    @property
    def ssa(self):
        return self._fresh_instance().ssa

    @property
    def __wrapped__(self):
        # what `inspect.getsource` and debuggers show: the generated code
        return self._fresh_instance()

    @property
    def __signature__(self):
        return inspect.signature(self._f)

    def __get__(self, obj, owner=None):
        # as a method (`@s2sad.grad` on a def in a class body), like the
        # function it stands for
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self):
        kind = "value_and_grad" if self._options[2] else "grad"
        return f"<s2sad {kind} of {self._f!r}>"

    def __dask_tokenize__(self):
        # Dask names a task by its function's token: the derivative of one
        # function with one set of options has one name in every process
        f, code = self._f, getattr(self._f, "__code__", None)
        if code is None:
            return ("s2sad", f) + self._options
        return ("s2sad", getattr(f, "__module__", None), _name(f),
                hashlib.sha256(marshal.dumps(code)).hexdigest()) + \
            self._options

    def __reduce__(self):
        # the decorated function is the module's attribute: by name
        found = sys.modules.get(getattr(self, "__module__", None))
        for part in getattr(self, "__qualname__", "<>").split("."):
            found = getattr(found, part, None)
        if found is self:
            return self.__qualname__
        source = _source_of(self._f)
        if source is None:
            return (_rebuild, (self._f,) + self._options)
        return (_shipped, (source, self._f) + self._options)


def _stale():
    return False


def _by_arity(f, argnums, options, *args, **kwargs):
    """Call the derivative of a function known by its rule (np.tanh), made
    for the number of arguments given."""
    return _derived(f, argnums, len(args), **options)[1](*args, **kwargs)


def _rebuild(f, *options):
    """A Derivative made again from its function (unpickling)."""
    return Derivative(f, *options)


def _shipped(source, f, *options):
    """`_rebuild`, with the lines of the file f was defined in where this
    process cannot read them (a Dask worker on another machine, or running
    a function of the client's script or notebook)."""
    filename, lines = source
    function = getattr(f, "__func__", f)  # (a method: its function)
    code = getattr(function, "__code__", None)
    if code is not None and code.co_filename != filename:
        # (dask.distributed ships a function of the client's script with
        # its code's file named "<dynamic-code>")
        function.__code__ = code.replace(co_filename=filename)
    if not linecache.getlines(filename):
        linecache.cache[filename] = (sum(map(len, lines)), None, lines,
                                     filename)
    return _rebuild(f, *options)


def _source_of(f):
    """(file name, lines) of the file `f` was defined in, to send with it."""
    function = getattr(f, "__func__", f)
    filename = getattr(getattr(inspect.unwrap(function), "__code__", None),
                       "co_filename", None)
    lines = linecache.getlines(filename) if filename else []
    return (filename, lines) if lines else None


def _name(f):
    return getattr(f, "__qualname__", None) or repr(f)


def _input_kind(value):
    """"int" when an input holds an integer or bool (a number, an array of
    them, or a leaf of a tuple, list or dict), else "complex" when it is
    complex throughout, else "real"."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        kinds = {_input_kind(v) for v in value}
        if "int" in kinds:
            return "int"
        return "complex" if kinds == {"complex"} else "real"
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return "int"
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu":
        return "int"
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return "complex" if isinstance(value, complex) or kind == "c" \
        else "real"


def _is_real_input(value):
    """Is `value` a float, a NumPy float64 or a NumPy array of floats (not
    a subclass): an input every check passes at once?"""
    cls = value.__class__
    return cls is float or cls is np.float64 or (
        cls is np.ndarray and value.dtype.kind == "f")


def _real_inputs(args, positions):
    """Are the arguments at `positions` each `_is_real_input`?"""
    for i in positions:
        if not _is_real_input(args[i]):
            return False
    return True


def _describe(value):
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return f"{type(value).__name__} of dtype {dtype}"
    return f"{type(value).__name__} {value!r}"[:60]


def _integer_paths(value):
    """The paths (as `_leaves` gives them) of value's integer and bool
    leaves."""
    return [path for path, leaf in _leaves(value)
            if _input_kind(leaf) == "int"]


def _integer_leaf(args, i):
    """Words naming the first integer leaf of argument i: "argument 0 is
    an integer (...)", or "argument 0['n'] is ..." inside a structure."""
    path = _integer_paths(args[i])[0]
    leaf = _get(args[i], path)
    where = "".join(f"[{key!r}]" for key in path)
    return f"argument {i}{where} is an integer ({_describe(leaf)})"


def _zero_integer_leaves(value, grads):
    """The gradient allow_int gives an input holding integers: `grads`, the
    gradient in value's structure, with each integer leaf's replaced by
    float zeros (`_zeros_float`)."""
    if _is_real_input(value):
        return grads  # (no integer leaf, at once)
    for path in _integer_paths(value):
        grads = _put(grads, path, _zeros_float(_get(value, path)))
    return grads


def _zeros_float(value):
    """The gradient allow_int gives an integer input: zeros in its
    structure, 0.0 for a number and a float array of its shape."""
    if isinstance(value, dict):
        return {k: _zeros_float(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_zeros_float(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        if value.dtype.kind in "fc":
            return np.zeros_like(value)
        return np.zeros(np.shape(value)) if np.ndim(value) else \
            np.float64(0.0)
    return 0.0


def _holomorphic_grad(f, argnums, has_aux, args, kwargs):
    """(value, complex derivative) of a holomorphic f: the vjp with a
    cotangent of one (JAX's convention), (value, aux) for has_aux."""
    if kwargs:
        f = functools.partial(f, **kwargs)
    positions = (argnums,) if isinstance(argnums, int) else argnums
    out = vjp(f, *args, has_aux=has_aux)
    value, vjp_fn = out[0], out[1]
    if np.ndim(value) or not np.iscomplexobj(value):
        raise errors.InputTypeError(
            f"{_name(f)}: grad with holomorphic=True needs a complex scalar "
            f"output, got {_describe(value)}")
    cotangents = vjp_fn(np.ones_like(value) if isinstance(
        value, np.generic) else complex(1.0))
    grads = cotangents[argnums] if isinstance(argnums, int) else tuple(
        cotangents[i] for i in positions)
    return value, grads, (out[2] if has_aux else None)


@_located
def differentiate(func, argnums=0, has_aux=False, with_value=False,
                  optimize_code=True, mode="reverse"):
    """The generated function (see `derive.derive`) for any callable with
    source code or a rule, as long as it binds no arguments of its own."""
    instance, target, _ = _derived(func, argnums, None, has_aux=has_aux,
                                   with_value=with_value,
                                   optimize_code=optimize_code, mode=mode)
    if target is not instance:
        raise errors.S2SADError(
            f"{func!r} binds arguments of its own; use s2sad.grad or "
            "s2sad.vjp, which pass them")
    return instance


def _derived(f, argnums, nargs, **options):
    """Derive any callable: a function, a bound method (classmethods
    included), a functools.partial, an object with `__call__`, a function
    with a rule or a custom_vjp (`nargs` arguments: a wrapper calling it is
    differentiated), or a Derivative (a derivative of a derivative).

    `argnums` counts the callable's own parameters, as the user calls it.

    Returns:
        (generated function, the function to call with the user's
        arguments, a guard: a function returning whether it is fresh).
    """
    fn, leading, keywords = calls.target(f, nargs)
    shifted, items = _check_argnums(fn, argnums, len(leading), f)
    if items and options.get("mode", "reverse") == "reverse":
        # items of *args (a decorator's `wrapper(*args, **kwargs)`): the
        # gradient of the whole tuple, and the items asked for from it
        instance = derive.derive(fn, shifted, **options)
        target = _picking(instance, leading, keywords, items,
                          isinstance(argnums, int), options)
        return instance, target, _freshness(f, fn, instance)
    if items:
        raise errors.S2SADError(
            f"{fn.__qualname__} takes *args: its generated forward-mode code "
            "takes the tuple as a whole; use s2sad.jvp or s2sad.vjp, which "
            "take its items", fn.__code__.co_filename,
            fn.__code__.co_firstlineno)
    instance = derive.derive(fn, shifted, **options)
    target = functools.partial(instance, *leading, **keywords) \
        if leading or keywords else instance
    return instance, target, _freshness(f, fn, instance)


def _plain_input(value):
    """Is `value` an input the quick path takes unchecked: a float, a
    NumPy float64, a float array (as `Derivative.__call__` tests inline)?"""
    cls = value.__class__
    return cls is float or cls is np.float64 or \
        cls is np.ndarray and value.dtype.kind == "f"


def _floats(value):
    """Is `value` a list of Python floats (which code specialised to one
    takes: see `s2sad.specialise`)?"""
    return value.__class__ is list and runtime.all_floats(value)


def _COUNTING():
    """A derivative's entry while its calls are counted, before its code is
    specialised (see `Derivative._counted_call`)."""


def _quick_of(derivative, *args, **kwargs):
    """`Derivative._quick` of a weakly referenced derivative."""
    return derivative()._quick(*args, **kwargs)


def _turned_away(derivative, *args, **kwargs):
    """A call the guard of a derivative's specialised code sends back (the
    derivative weakly referenced), as if made to the derivative: an error
    is located now, at the user's call, before it passes through the
    guard's line of generated code."""
    try:
        return _quick_of(derivative, *args, **kwargs)
    except Exception as exc:
        errors.locate(exc, caller=sys._getframe(2))
        raise


def _picking(target, leading, keywords, items, single, options):
    """`target`, a gradient with respect to some parameters and the `*args`
    tuple, called with `leading` arguments first, giving instead the
    gradients `items` names: an int is the index of a parameter's gradient,
    a 1-tuple the index of an item of *args. (A partial of `_pick`,
    differentiable again as generated code is, binding `leading` last, as
    every derivative binds the values of a closure: see `runtime.bound`.)"""
    return functools.partial(_pick, target, tuple(items), single,
                             bool(options.get("has_aux")),
                             bool(options.get("with_value")), *leading,
                             **keywords)


def _pick(target, items, single, has_aux, with_value, /, *args,
          **kwargs):
    out = target(*args, **kwargs)
    grads = out[1] if with_value else (out[0] if has_aux else out)
    chosen = tuple([grads[-1][i[0]] if isinstance(i, tuple) else grads[i]
                    for i in items])
    picked = chosen[0] if single else chosen
    if with_value:
        return out[0], picked
    return (picked, out[1]) if has_aux else picked


def _freshness(f, fn, instance):
    """A guard for what `_derived` resolved: the generated code's guards
    (which cover the rule registry), the function it was made from still
    having the same code and defaults, and, for a derivative of a
    derivative or an object with `__call__`, that one still fresh or its
    class's `__call__` the same: one compiled test (`derive.checker`)."""
    outer = getattr(type(f), "__s2sad_is_fresh__", None)
    method = calls.call_method(f)
    if outer is not None:
        outer = outer.__get__(f)
    elif method is not None:
        owner = type(f)

        def outer():
            return owner.__call__ is method
    return derive.checker(fn, instance, outer)


def _counted_from_start(f, argnums):
    """argnums with negative positions counted, as JAX counts them, from
    the end of f's positional parameters (all passed, as a call passing
    each one does)."""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    if all(i >= 0 for i in positions):
        return argnums
    fn, leading, _ = calls.target(f)
    code = fn.__code__
    fixed = code.co_argcount - len(leading)
    resolved = tuple(i + fixed if i < 0 else i for i in positions)
    if code.co_flags & inspect.CO_VARARGS or min(resolved) < 0:
        raise errors.S2SADError(
            f"argnums={argnums!r}: a negative argnum counts from the end of "
            f"the {fixed} positional parameters of {_name(f)}"
            + (" besides *args" if code.co_flags & inspect.CO_VARARGS
               else "") + "; give an argnum counted from 0")
    return resolved[0] if isinstance(argnums, int) else resolved


def _check_argnums(func, argnums, leading=0, user=None):
    """Check that argnums name parameters the user passes, counted past
    `leading` bound arguments.

    Returns:
        (the positions to differentiate in func's own signature, None or,
        when some fall in `*args`, what each of argnums is there: an index
        into the gradients of those positions, or (item,) of the `*args`
        tuple, which is then the last position).
    """
    code = func.__code__
    fixed = code.co_argcount - leading
    varargs = bool(code.co_flags & inspect.CO_VARARGS)
    positions = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(positions, tuple) or not positions or not all(
            isinstance(i, int) and 0 <= i and (i < fixed or varargs)
            for i in positions):
        bound = f" besides the {leading} it binds" if leading else ""
        name = getattr(user, "__qualname__", None) or func.__qualname__
        raise errors.S2SADError(
            f"argnums={argnums!r} does not name parameters of {name}, which "
            f"takes {fixed}{bound}; give an int or a tuple of ints from 0 "
            f"to {fixed - 1}", code.co_filename, code.co_firstlineno)
    if all(i < fixed for i in positions):
        if not leading:
            return argnums, None
        if isinstance(argnums, int):
            return argnums + leading, None
        return tuple(i + leading for i in argnums), None
    own = sorted({i + leading for i in positions if i < fixed})
    shifted = tuple(own) + (code.co_argcount,)
    items = [own.index(i + leading) if i < fixed else (i - fixed,)
             for i in positions]
    return shifted, items


@_located
def grad(fun: Optional[Callable] = None, argnums: Argnums = 0,
         has_aux: bool = False, holomorphic: bool = False,
         allow_int: bool = False, *, optimize: bool = True,
         backend: str = "python", fallback: str = "raise") -> Any:
    """The gradient of a scalar-valued function, as `jax.grad`.

    Args:
        fun: the function (also usable as `@grad` or `@grad(argnums=...)`):
            any callable with Python source or a derivative rule: a
            function, a bound method, a functools.partial, an object with
            `__call__`, a function wrapped by a decorator, np.tanh.
        argnums: which positional argument(s) to differentiate, counted as
            the callable is called (a bound method's `self` is not
            counted): an int (returns one gradient) or a tuple of ints
            (returns a tuple).
        has_aux: fun returns `(output, aux)`; the result is
            `(gradient, aux)`.
        holomorphic: fun is holomorphic, its inputs and scalar output
            complex; the gradient is the complex derivative f'(z) (JAX's
            meaning), computed as the vjp with a cotangent of one.
        allow_int: accept integer (and bool) inputs among argnums, whose
            gradient is then a zero of their shape in float (JAX gives
            float0 zeros); without it such an input raises
            `s2sad.errors.InputTypeError` (a TypeError).
        optimize: run the optimisation passes (False keeps the code as
            generated).
        backend: "python" (the default), or "numba": the gradient is
            compiled by Numba, an optional extra (`pip install
            's2sad[numba]'`), on its first call for each kind of argument,
            and cached on disk: of code on numbers (floats and ints, loops,
            branches, `math` and NumPy elementwise functions, small
            helpers), and of code on NumPy arrays (float64 arrays
            differentiated, int and bool arrays as data; items, slices and
            masks, reductions, `@`, the NumPy functions Numba has); other
            arguments (lists, float32 arrays, 0-d arrays) take the Python
            gradient. Code Numba cannot compile raises
            `s2sad.errors.UnsupportedSyntaxError` at its line.
        fallback: with backend="numba", "raise" (the default) or "python":
            where Numba cannot compile the gradient, its Python code runs
            instead, with one `s2sad.kernels.FallbackWarning`.

    Returns:
        A `Derivative`: call it with fun's arguments. Each gradient has its
        input's type: a float for a float, an array of the input's shape
        (and floating dtype) for an array, the same structure for a tuple,
        list or dict. `.source` is its code and `.ssa` the SSA form of fun
        it was generated from. It follows changes to the code it was built
        on (see `Derivative`).
    """
    return _transform(fun, argnums, has_aux, holomorphic, allow_int,
                      optimize, with_value=False, backend=backend,
                      fallback=fallback)


@_located
def value_and_grad(fun: Optional[Callable] = None, argnums: Argnums = 0,
                   has_aux: bool = False, holomorphic: bool = False,
                   allow_int: bool = False, *, optimize: bool = True,
                   backend: str = "python", fallback: str = "raise") -> Any:
    """Like `grad`, but returns `(value, gradient)` (with has_aux,
    `((value, aux), gradient)`), as `jax.value_and_grad`."""
    return _transform(fun, argnums, has_aux, holomorphic, allow_int,
                      optimize, with_value=True, backend=backend,
                      fallback=fallback)


def _transform(fun, argnums, has_aux, holomorphic, allow_int, optimize,
               with_value, backend="python", fallback="raise"):
    argnums = _tuple(argnums, negative=True)
    options = (argnums, has_aux, with_value, optimize, holomorphic,
               allow_int, backend, fallback)
    if fun is None:  # @grad(argnums=...)
        return functools.partial(_transform_later, options)
    return Derivative(fun, *options)


def _transform_later(options, fun):
    return Derivative(fun, *options)


@_not_differentiated(
    "call s2sad.show outside the differentiated function")
@_located
def show(f: Callable, mode: str = "reverse", stage: str = "grad",
         argnums: Argnums = 0, optimize: bool = True,
         backend: str = "python") -> str:
    """The source s2sad generates for `f`, as a string.

    Args:
        mode: "reverse" for the gradient, "forward" for the JVP function,
            "vector" for its vector mode (`jvp(..., batched=True)`),
            "vector_reverse" for the vjp's forward sweep, its backward
            sweep, and the backward sweep's vector mode (jacrev's,
            `vjp(..., batched=True)`).
        stage: "ssa" for the lowered form, "grad" for the generated code.
        backend: "numba": the code of `backend="numba"` (the Python entry,
            the kernel Numba compiles and the general version).
    """
    if stage == "ssa":
        return ssa.to_source(ssa.lower(frontend.parse(calls.target(f)[0])))
    if stage != "grad":
        raise errors.S2SADError(
            f"unknown stage {stage!r}; use 'ssa' or 'grad'")
    if mode == "vector_reverse":
        _python_only(backend)
        positions = (argnums,) if isinstance(argnums, int) else argnums
        vjp_f = _derived(f, tuple(positions), None, optimize_code=optimize,
                         mode="vjp", owned=True)[0]
        batched = calls.batched_backward(vjp_f)
        if batched is None:
            return derive.source_of(vjp_f) + (
                "\n\n# (The backward sweep runs a gradient hook, code of "
                "yours that need not be\n# linear in the cotangent: "
                "jacrev and vjp(..., batched=True) run it once\n# per "
                "cotangent, with no vector mode.)\n")
        return derive.source_of(vjp_f) + "\n\n" + derive.source_of(batched)
    return derive.source_of(generated_function(f, mode, argnums, optimize,
                                               backend))


def _python_only(backend):
    if backend != "python":
        raise errors.S2SADError("vector mode runs Python; leave out "
                                "backend='numba'")


def generated_function(f, mode="reverse", argnums=0, optimize=True,
                       backend="python"):
    """The generated function whose source `show` gives: the gradient
    ("reverse") or JVP function ("forward", "vector") of `f`, as the cache
    holds it (`s2sad.aot` writes it into a module)."""
    if mode not in ("reverse", "forward", "vector"):
        raise errors.S2SADError(
            f"unknown mode {mode!r}; use 'reverse', 'forward', 'vector' or "
            "'vector_reverse' (which s2sad.show takes)")
    kernels.check_backend(backend, "raise")
    if mode == "vector":
        _python_only(backend)
    if mode in ("forward", "vector") and isinstance(argnums, int):
        argnums = (argnums,)
    # owned, as s2sad.jvp's: called on the caller's values, it may update
    # its arguments (generated code never changes them)
    return _derived(f, argnums, None, optimize_code=optimize, mode=mode,
                    owned=True, backend=backend)[0]


@_not_differentiated(
    "use s2sad.jacfwd inside it (differentiated), or call s2sad.jvp "
    "outside it (for a Hessian-vector product, s2sad.hvp(f, primals, "
    "tangents) or s2sad.jvp(s2sad.grad(f), primals, tangents))")
@_located
def jvp(fun: Callable, primals: Sequence, tangents: Sequence,
        has_aux: bool = False, *, backend: str = "python",
        fallback: str = "raise", batched: bool = False) -> tuple:
    """Forward mode: `fun(*primals)` and its derivative along `tangents`,
    as `jax.jvp`.

    Args:
        primals: a tuple (or list) of all of fun's arguments.
        tangents: a tuple of the same length, each tangent of its primal's
            structure, shape and kind (real or complex); a tangent of None
            holds that argument constant. An integer (or bool) argument
            has no derivative: its tangent must be None or zeros (of any
            kind, as JAX's float0), and a nonzero one is refused.
        has_aux: fun returns `(output, aux)`; aux is returned as it is.
        backend, fallback: as `grad`'s: with backend="numba", the jvp of
            code on numbers is compiled by Numba.
        batched: vector mode: each tangent carries a leading axis of k
            directions (`tangents[i][j]` is argument i's tangent in
            direction j; the same k for all, or 1 for a tangent shared by
            every direction), and so does the result's. One sweep of the
            generated `jvps_f` computes all k (JAX: `vmap` of a jvp).

    Returns:
        `(fun(*primals), J @ tangents)`, or `(output, J @ tangents, aux)`
        with has_aux.
    """
    kernels.check_backend(backend, fallback)
    if batched:
        if backend != "python":
            raise errors.S2SADError(
                "jvp with batched=True runs Python's vector mode; leave out "
                "backend='numba'")
        return _batched_jvp(fun, primals, tangents, has_aux)
    primals, tangents = _primals_and_tangents(fun, primals, tangents, "jvp")
    argnums = _with_tangents(primals, tangents)
    if not argnums:
        value = _plain_call(fun, primals, "jvp")
        tangent = runtime.tangents(None, value)
    else:
        # the dispatch generated code uses for a call: any callable, *args
        value, tangent = calls.jvp(fun, primals, {}, {
            i: tangents[i] for i in argnums}, owned=True, backend=backend,
            fallback=fallback)
        tangent = runtime.tangents(tangent, value, (primals, tangents))
    if has_aux:
        _check_aux(value, fun)
        return value[0], tangent[0], value[1]
    return value, tangent


def _batched_jvp(fun, primals, tangents, has_aux):
    """jvp's with batched=True (see `jvp`)."""
    if not isinstance(tangents, (tuple, list)):
        _primals_and_tangents(fun, primals, tangents, "jvp")  # (refused)
    _directions_count(f"jvp of {_name(fun)}", tangents)
    # (each direction fits its primal as jvp's tangents must)
    first = [None if t is None else _one_direction(t) for t in tangents]
    try:
        primals = _primals_and_tangents(fun, primals, first, "jvp")[0]
    except errors.InputTypeError as exc:
        raise errors.InputTypeError(exc.message.replace(
            "its tangent has", "each direction of its tangent has")) \
            from None
    tangents = tuple(tangents)
    argnums = _with_tangents(primals, tangents)
    k = max((runtime.directions(tangents[i]) for i in argnums), default=1)
    if not argnums:
        value = _plain_call(fun, primals, "jvp")
        tangent = None
    else:
        value, tangent = calls.jvp(fun, primals, {}, {
            i: tangents[i] for i in argnums}, owned=True, vector=True)
    output = value[0] if has_aux else value
    if has_aux:
        _check_aux(value, fun)
        tangent = None if tangent is None else tangent[0]
    _check_numbers(fun, output, "jvp", records=True)
    tangent = _batched_output_tangent(tangent, output, k, (primals,
                                                            tangents))
    return (output, tangent, value[1]) if has_aux else (output, tangent)


def _directions_count(what, tangents, noun="tangent"):
    """The number k of directions of batched tangents (or cotangents),
    refused where one has none or two have different numbers (a leading
    length of 1 is shared by all)."""
    counts = {len(leaf) for t in tangents for _, leaf in _leaves(t)
              if np.ndim(leaf) and not isinstance(leaf, (str, bytes))}
    if 0 in counts:
        raise errors.InputTypeError(
            f"{what}: batched {noun}s with no directions (a leading axis "
            "of length 0); give at least one")
    if len(counts - {1}) > 1:
        raise errors.InputTypeError(
            f"{what}: batched {noun}s have different numbers of directions "
            f"(leading lengths {sorted(counts)}); give every {noun} the "
            "same k, or 1 to share one")
    return max(counts, default=1)


def _one_direction(t, what="jvp with batched=True: each tangent"):
    """The first direction of a batched tangent, as the checks read it."""
    try:
        return runtime.direction(t, 0)
    except (TypeError, IndexError):
        raise errors.InputTypeError(
            f"{what} needs a leading axis of directions, got "
            f"{_describe(t)}") from None


def _batched_output_tangent(t, value, k, others):
    """A batched tangent of the output as jvp gives one: k directions, each
    as `runtime.tangents` gives it (in the output's structure, kind and
    shape), sharing no memory with the inputs."""
    if t is not None and value.__class__ is np.ndarray and \
            value.dtype.kind in "fc" and t.__class__ is np.ndarray:
        return np.array(np.broadcast_to(t, (k,) + value.shape),
                        dtype=np.result_type(t, value))
    return runtime.stacked_directions([runtime.tangents(
        None if t is None else runtime.direction(t, i), value, others)
        for i in range(k)])


def _primals_and_tangents(fun, primals, tangents, what):
    """primals and tangents as tuples, refused (`errors.S2SADError`) unless
    both are sequences of the same length whose tangents fit their primals
    (`_tangent_problem`)."""
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, (tuple, list)):
            raise errors.S2SADError(
                f"{what} of {_name(fun)}: {name} must be a tuple or list "
                f"with one item per argument of the function, got "
                f"{_describe(value)}; write {what}(f, (x,), (t,)) for one "
                "argument")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise errors.S2SADError(
            f"{what} needs one tangent per primal: got {len(primals)} primals "
            f"and {len(tangents)} tangents")
    for i, (p, t) in enumerate(zip(primals, tangents)):
        problem = _tangent_problem(p, t, f"argument {i}")
        if problem:
            raise errors.InputTypeError(f"{what} of {_name(fun)}: {problem}")
    return primals, tangents


def _dtype_kind(value):
    """The kind of value's dtype ("f", "c", "i", ...; "O" for an object
    NumPy does not hold as numbers)."""
    dtype = getattr(value, "dtype", None)  # (any library's array)
    if isinstance(dtype, np.dtype):
        return dtype.kind
    try:
        return np.asarray(value).dtype.kind
    except Exception:
        return "O"


_LIKE_PRIMAL = ("; give each primal a tangent of its structure, shape and "
                "kind (None holds it constant)")


def _tangent_problem(primal, tangent, where):
    """None when `tangent` can be primal's tangent (as jax.jvp requires:
    the same structure and shape, not complex for a real primal (a real
    tangent moves a complex one along the real axis); None or
    zeros (of any kind: JAX's float0) for an integer primal), else words
    saying why not."""
    if tangent is None:
        return None
    arrays = primal.__class__ is np.ndarray, tangent.__class__ is np.ndarray
    if _is_real_input(primal) and _is_real_input(tangent) and \
            arrays[0] == arrays[1] and (
                not arrays[0] or tangent.shape == primal.shape):
        return None  # (real numbers, or real arrays of one shape, at once)
    if isinstance(primal, dict):
        if not isinstance(tangent, dict) or set(tangent) != set(primal):
            return (f"{where} is a dict with keys {sorted(primal, key=repr)}"
                    f" but its tangent is {_describe(tangent)}"
                    + _LIKE_PRIMAL)
        problems = (_tangent_problem(primal[k], tangent[k],
                                     f"{where}[{k!r}]") for k in primal)
        return next((p for p in problems if p), None)
    if isinstance(primal, (list, tuple)):
        if not isinstance(tangent, (list, tuple)) or len(tangent) != len(
                primal):
            return (f"{where} is a {type(primal).__name__} of {len(primal)} "
                    f"but its tangent is {_describe(tangent)}"
                    + _LIKE_PRIMAL)
        problems = (_tangent_problem(p, t, f"{where}[{j}]")
                    for j, (p, t) in enumerate(zip(primal, tangent)))
        return next((p for p in problems if p), None)
    kind = _dtype_kind(primal)
    if (primal is None or isinstance(primal, (str, bytes))) and np.any(
            tangent):
        return (f"{where} is {_describe(primal)}, which has no derivative, "
                "but its tangent is not zero; give it a tangent of None")
    if kind not in "biufc":  # not a number: no derivative to take
        return None
    t_kind = _dtype_kind(tangent)
    if isinstance(tangent, (dict, list, tuple)) or t_kind not in "biufc":
        return (f"{where} is a number or array but its tangent is "
                f"{_describe(tangent)}" + _LIKE_PRIMAL)
    if kind in "biu":
        if not np.any(tangent):
            return None
        return (f"{where} is an integer ({_describe(primal)}), which has no "
                "derivative, but its tangent is not zero; pass the primal "
                "as a float (3.0, x.astype(float)) to differentiate with "
                "respect to it, or give it a tangent of None")
    if np.shape(tangent) != np.shape(primal):
        return (f"{where} has shape {np.shape(primal)} but its tangent has "
                f"shape {np.shape(tangent)}" + _LIKE_PRIMAL)
    if t_kind == "c" and kind != "c":  # (a real one moves a complex primal
        return (f"{where} is real but its tangent is complex"  # along the
                + _LIKE_PRIMAL)  # real axis)
    return None


def _check_aux(value, fun):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise errors.S2SADError(
            f"{_name(fun)} is differentiated with has_aux=True, so it must "
            f"return a pair (output, aux); it returned {_describe(value)}")


@_not_differentiated(
    "use s2sad.grad, s2sad.jacrev or s2sad.jacfwd inside it (they are "
    "differentiated), or call s2sad.vjp outside it")
@_located
def vjp(fun: Callable, *primals: Any, has_aux: bool = False,
        batched: bool = False) -> tuple:
    """Reverse mode for any output: `(fun(*primals), vjp_fn)`, as `jax.vjp`
    (`(output, vjp_fn, aux)` with has_aux, fun returning `(output, aux)`).

    The forward sweep runs once, here; `vjp_fn(cotangent)` can then be called
    with many cotangents (shaped like the output) and returns one cotangent
    per primal (None for integer primals).

    With batched=True, vjp_fn's cotangent carries a leading axis of k
    directions (each shaped like the output: a matrix of cotangents of a
    vector output), and so does each cotangent it returns: one backward
    sweep of vector mode computes all k.
    """
    # vjp_fn is the pullback at the primals as they are now: its sweep
    # reads copies of their arrays, which the caller's later changes in
    # place (`x[:] = 0`) do not reach
    primals = tuple(map(_own_arrays, primals))
    argnums = tuple(i for i, p in enumerate(primals)
                    if calls.differentiable(p))
    if not argnums:
        value = _plain_call(fun, primals, "vjp")
        pullback = None
    else:
        value, pullback = calls.vjp(fun, primals, {}, argnums, owned=True,
                                    vector=batched)
    if has_aux:
        _check_aux(value, fun)
    out = value[0] if has_aux else value
    _check_numbers(fun, out, "vjp", records=True)

    def vjp_fn(*cotangents):
        if len(cotangents) != 1:
            raise errors.S2SADError(
                f"the vjp of {_name(fun)} takes one cotangent, shaped like "
                f"fun's output (a tuple for a tuple output), got "
                f"{len(cotangents)}")
        cotangent, = cotangents
        if batched:
            return _batched_vjp(fun, primals, argnums, value, has_aux,
                                pullback, cotangent)
        runtime.check_cotangent(cotangent, out, fun)
        if pullback is None:
            return (None,) * len(primals)
        full = (cotangent, runtime.tangents(None, value[1])) if has_aux \
            else cotangent
        grads = pullback(runtime.tree_adjoint(full, value))
        grads = iter(runtime.gradients(
            [runtime.tree_like(g, primals[i]) for g, i in zip(grads, argnums)],
            [primals[i] for i in argnums], (cotangent,)))
        # integer leaves of a structure have no derivative: zeros (JAX's
        # float0), as grad's allow_int gives them
        return tuple(_zero_integer_leaves(primals[i], next(grads))
                     if i in argnums else None for i in range(len(primals)))
    vjp_fn = _located(vjp_fn, wrap=False)
    vjp_fn.__name__ = vjp_fn.__qualname__ = "vjp_fn"
    # the arrays and lists returned are the caller's to change (`r -= y`,
    # `r.append(v)`), not the values vjp_fn reads (a name of their own:
    # vjp_fn reads `out`)
    given = _own_arrays(out)
    return (given, vjp_fn, _own_arrays(value[1])) if has_aux else \
        (given, vjp_fn)


def _own_arrays(value):
    """`value` with each NumPy array in it (in lists, tuples, namedtuples
    and dicts) copied, and the lists and dicts holding them."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return type(value)((k, _own_arrays(v)) for k, v in value.items()) \
            if type(value) is dict else value
    if isinstance(value, (list, tuple)):
        items = [_own_arrays(v) for v in value]
        if type(value) in (list, tuple):
            return type(value)(items)
        if hasattr(value, "_make"):  # a namedtuple
            return value._make(items)
    return value


def _batched_vjp(fun, primals, argnums, value, has_aux, pullback,
                 cotangent):
    """vjp_fn's with batched=True (see `vjp`)."""
    out = value[0] if has_aux else value
    k = _directions_count(f"the vjp of {_name(fun)}", [cotangent],
                          "cotangent")
    first = _one_direction(cotangent,
                           "vjp with batched=True: the cotangent")
    try:
        runtime.check_cotangent(first, out, fun)
    except errors.GradientShapeError as exc:
        raise errors.GradientShapeError(exc.message.replace(
            "the cotangent given", "each direction of the cotangent given")
        ) from None
    if pullback is None:
        return (None,) * len(primals)
    full = (cotangent, runtime.zero_directions(runtime.tangents(
        None, value[1]))) if has_aux else cotangent
    grads = iter(pullback(runtime.tree_adjoint(full, value)))
    return tuple(
        _batched_output_tangent(runtime.tree_like(next(grads), primals[i]),
                                primals[i], k, (primals, cotangent))
        if i in argnums else None for i in range(len(primals)))


@_not_differentiated(
    "use s2sad.jacfwd inside it (differentiated), or call s2sad.linearize "
    "outside it")
@_located
def linearize(fun: Callable, *primals: Any, has_aux: bool = False,
              backend: str = "python", fallback: str = "raise") -> tuple:
    """`(fun(*primals), f_jvp)`, as `jax.linearize`: `f_jvp(*tangents)` is
    the derivative of fun at primals along tangents (one per primal).
    (`(output, f_jvp, aux)` with has_aux.)

    s2sad keeps no linearised program: each call of f_jvp runs fun's
    forward-mode code at primals again, so its cost is one JVP. fun is
    called on copies of primals, taken here: a fun that changes its
    arguments in place changes neither the caller's nor the point f_jvp
    differentiates at. What fun reads besides its arguments (a global, an
    object's attribute, a module-level list) is read when f_jvp runs: if
    fun's value at primals is no longer the one returned here, the
    derivative would be another function's, and f_jvp says so (an
    `S2SADError`) rather than give it. (`backend`, `fallback`: as
    `jvp`'s.)
    """
    kernels.check_backend(backend, fallback)
    primals = _copied(primals)
    value = _plain_call(fun, _copied(primals), "linearize")
    if has_aux:
        _check_aux(value, fun)
    output = value[0] if has_aux else value

    @_located
    def f_jvp(*tangents):
        _primals_and_tangents(fun, primals, tangents, "linearize's f_jvp")
        now, tangent = jvp(fun, primals, tangents, has_aux=has_aux,
                           backend=backend, fallback=fallback)[:2]
        if not _same_values(now, output):
            raise errors.S2SADError(
                f"linearize's f_jvp of {_name(fun)}: the function now gives "
                "another value at the primals than when linearize ran (a "
                "global, an object's attribute or a list it reads has "
                "changed, or it draws random numbers), so its derivative "
                "there is another function's; s2sad keeps no linearised "
                "program: call linearize again after the change, or use "
                "vjp, whose vjp_fn keeps what the function read")
        return tangent
    # (the caller's to change: f_jvp compares with `output`, its own)
    return (_own_arrays(value[0]), f_jvp, _own_arrays(value[1])) if \
        has_aux else (_own_arrays(value), f_jvp)


def _same_values(a, b):
    """Do two outputs hold the same numbers in the same structure (NaNs
    equal to NaNs)?"""
    left, right = list(_leaves(a)), list(_leaves(b))
    return len(left) == len(right) and all(
        p == q and np.shape(x) == np.shape(y) and np.array_equal(
            x, y, equal_nan=np.asarray(x).dtype.kind in "fc")
        for (p, x), (q, y) in zip(left, right))


@_located
def jacrev(fun: Callable, argnums: Argnums = 0, has_aux: bool = False,
           holomorphic: bool = False, allow_int: bool = False, *,
           chunk_size: Optional[int] = None) -> Callable:
    """The Jacobian of `fun` by reverse mode, as `jax.jacrev`: a cotangent
    per output element, all of them in one backward sweep of vector mode
    (the backward sweep's `batched_...`, whose cotangents carry a leading
    axis of directions).

    Same shapes as `jacfwd`; `(jacobian, aux)` with has_aux. A complex
    output needs holomorphic=True (complex inputs too); integer inputs need
    allow_int=True (their rows are zeros). `chunk_size`: at most this many
    cotangents per sweep (memory grows with it); None: all at once. Inputs
    or outputs that are tuples, lists or dicts take one sweep per element.
    """
    _check_chunk_size(chunk_size, "jacrev")
    return _Transformed(_jacrev, fun, argnums=_tuple(argnums),
                        has_aux=has_aux, holomorphic=holomorphic,
                        allow_int=allow_int, chunk_size=chunk_size)


def _check_chunk_size(chunk_size, what):
    if chunk_size is not None and (
            not isinstance(chunk_size, (int, np.integer)) or
            isinstance(chunk_size, (bool, np.bool_)) or chunk_size < 1):
        raise errors.S2SADError(
            f"{what}: chunk_size must be a positive int (directions per "
            f"sweep) or None (all of them), got {chunk_size!r}")


def _tuple(argnums, negative=False):
    """argnums as the transformations take it: an int or a tuple of ints (a
    list becomes a tuple; NumPy integers become ints). Anything else is
    refused here, where the user passed it, rather than when it is first
    used; so are negative ones unless `negative` (grad's, which
    `_counted_from_start` counts from the end)."""
    if isinstance(argnums, list):
        argnums = tuple(argnums)
    if _is_index(argnums):
        taken = operator.index(argnums)
    elif isinstance(argnums, tuple) and argnums and all(
            _is_index(i) for i in argnums):
        taken = tuple(map(operator.index, argnums))
    else:
        taken = None
    positions = (taken,) if isinstance(taken, int) else taken or ()
    if taken is not None and not negative and min(positions) < 0:
        raise errors.S2SADError(
            f"argnums={argnums!r}: the Jacobian transformations count "
            "argnums from 0; give the argument's position from the start")
    if taken is not None:
        return taken
    raise errors.S2SADError(
        f"argnums={argnums!r}: give an int or a non-empty tuple of ints")


def _is_index(i):
    """Is i an integer (a Python or NumPy one, as `operator.index` takes),
    not a bool?"""
    if isinstance(i, (bool, np.bool_)):
        return False
    try:
        operator.index(i)
    except TypeError:
        return False
    return True


_TAKING_ALLOW_INT = ("grad", "jacrev")  # (value_and_grad: as grad)


def _check_inputs(fun, args, positions, holomorphic, allow_int, what):
    """Refuse integer inputs (unless allow_int) and, for holomorphic, real
    ones, as JAX does; and masked arrays and np.matrix."""
    if not holomorphic and _real_inputs(args, positions):
        return  # (the common case, at once)
    subject = f"{what} of {_name(fun)}"
    if what == "jacfwd" and isinstance(fun, Derivative):  # hessian's
        subject = f"{what} of grad of {_name(fun)} (a Hessian)"
    for i in positions:
        if args[i] is None or isinstance(args[i], (str, bytes)) or (
                callable(args[i]) and not calls.differentiable(args[i])):
            raise errors.InputTypeError(
                f"{subject}: argument {i} is {_describe(args[i])}, which "
                "has no derivative; leave it out of argnums")
        for path, leaf in _leaves(args[i]):
            where = "".join(f"[{p!r}]" for p in path)
            if isinstance(leaf, np.ma.MaskedArray):
                raise errors.InputTypeError(
                    f"{subject}: argument {i}{where} is a masked array "
                    "(np.ma), whose arithmetic skips the masked items, "
                    "which s2sad's derivatives do not; pass x.filled(value), "
                    "or the data with the mask as an array of its own")
            if isinstance(leaf, np.matrix):
                raise errors.InputTypeError(
                    f"{subject}: argument {i}{where} is an np.matrix, whose "
                    "`*` multiplies matrices where s2sad's derivatives "
                    "multiply items; pass np.asarray(M) and write `@`")
        kind = _input_kind(args[i])
        if kind == "int" and not allow_int:
            raise errors.InputTypeError(_integer_refusal(subject, args, i,
                                                         what))
        if holomorphic and kind != "complex":
            raise errors.InputTypeError(
                f"{what} of {_name(fun)} with holomorphic=True needs complex "
                f"inputs; argument {i} is {_describe(args[i])}")
        if not holomorphic and kind == "complex" and what == "jacfwd":
            raise errors.InputTypeError(
                f"jacfwd of {_name(fun)}: argument {i} is complex; pass "
                "holomorphic=True for the complex derivative of a "
                "holomorphic function")


def _arguments_refusal(exc, f, args, kwargs, what):
    """The refusal of arguments that do not fit `f` (too many, too few, an
    unknown keyword), naming f and its parameters, when `exc` is the
    TypeError a call here (of generated code, or of f) itself raised,
    which names that code or none; else None."""
    if not isinstance(exc, TypeError):
        return None
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    if tb.tb_frame.f_code.co_filename != __file__:
        return None  # raised inside the generated code or the user's
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # no signature to read
        return None
    params = signature.parameters
    unknown = [k for k in kwargs if k not in params] if not any(
        p.kind is p.VAR_KEYWORD for p in params.values()) else []
    problem = f"no parameter named {unknown[0]!r}" if unknown else None
    if problem is None:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as mismatch:
            problem = str(mismatch)
    if problem is None:
        return None
    return errors.InputTypeError(
        f"{what} of {_name(f)}: {problem}; it takes {_parameters(f)}")


def _plain_call(fun, args, what):
    """`fun(*args)`, with no derivative (vjp or jvp with nothing to
    differentiate, linearize's value): arguments that do not fit fun are
    refused as a derivative's are."""
    try:
        return fun(*args)
    except TypeError as exc:
        refusal = _arguments_refusal(exc, fun, args, {}, what)
        if refusal is None:
            raise
    raise refusal


def _parameters(f):
    """f's parameters as a call sees them, `(x, y, *args)`."""
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return "other arguments"
    return f"({', '.join(map(str, parameters))})"


def _refuse_dataclasses(what, fun, args, argnums):
    """Jacobians and check_grads take numbers, arrays and tuples, lists,
    dicts and namedtuples of them (grad, vjp and jvp take dataclasses
    too)."""
    for i in (argnums,) if isinstance(argnums, int) else argnums:
        if not isinstance(i, int) or not -len(args) <= i < len(args):
            continue  # (refused later, as argnums that name no argument)
        if _is_real_input(args[i]):
            continue  # (the common case, at once)
        for path, leaf in _leaves(args[i]):
            if runtime.fields(leaf) is not None:
                where = "".join(f"[{p!r}]" for p in path)
                raise errors.InputTypeError(
                    f"{what} of {_name(fun)}: argument {i}{where} is a "
                    f"dataclass ({type(leaf).__name__}); {what} takes "
                    "numbers, arrays and tuples, lists, dicts and "
                    "namedtuples of them: pass dataclasses.asdict(...) or a "
                    "namedtuple (grad, vjp and jvp take dataclasses)")


def _integer_refusal(subject, args, i, what):
    """The message refusing the integer argument i."""
    instead = ""
    if what in _TAKING_ALLOW_INT:
        instead = " or use allow_int=True for a zero gradient"
    elif what == "check_grads":
        instead = f", or leave argument {i} out of argnums"
    return (f"{subject}: {_integer_leaf(args, i)}, which has no derivative; "
            f"pass a float (3.0, x.astype(float)){instead}")


def _jacrev(f, *args, argnums=0, has_aux=False, holomorphic=False,
            allow_int=False, chunk_size=None):
    """jacrev's: every output element's cotangent in one backward sweep of
    vector mode (a chunk of `chunk_size` per sweep), for inputs and outputs
    that are numbers or arrays; otherwise one backward sweep per element
    (`_jacrev_per_direction`, which is also what s2sad differentiates where
    a differentiated function calls a jacrev)."""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    per_direction = functools.partial(
        _jacrev_per_direction, f, *args, argnums=argnums, has_aux=has_aux,
        holomorphic=holomorphic, allow_int=allow_int)
    if _any_tree(None, args, positions):
        return per_direction()
    _check_inputs(f, args, positions, holomorphic, allow_int, "jacrev")
    forward, pull = calls.vjp_functions(f, args, (), (calls.FUNCTION,)
                                        + tuple(positions), owned=True,
                                        vector=True)
    value, residuals = forward(*runtime.bound(f), *args)
    aux = held = None
    if has_aux:
        _check_aux(value, f)
        value, aux = value
        held = runtime.zero_directions(_zero_cotangent(aux))
    if _is_tree(value):
        return per_direction()
    _check_numbers(f, value, "jacrev")
    _check_real(f, value, holomorphic)
    out_shape = np.shape(value)
    m = math.prod(out_shape)
    dtype = _jacobian_dtype(value, holomorphic)
    step = (m or 1) if chunk_size is None else chunk_size
    rows = [[] for _ in positions]  # per position, per chunk
    for start in range(0, m, step):
        count = min(step, m - start)
        seeds = _unit_seeds(out_shape, start, count, dtype)
        cotangents = pull(residuals, seeds if held is None
                          else (seeds, held))
        for k, i in enumerate(positions):
            rows[k].append(_directions_first(cotangents[k + 1], args[i],
                                             count))
    blocks = []
    for k, i in enumerate(positions):
        in_shape = np.shape(args[i])
        kind = _block_kind(args[i], dtype)
        if _input_kind(args[i]) == "int":
            # allow_int: an integer input has no derivative (zeros, as the
            # gradient gives it)
            blocks.append(np.zeros(out_shape + in_shape))
        else:
            blocks.append(_jacobian_block(rows[k], 0, kind,
                                          out_shape + in_shape))
    jac = blocks[0] if isinstance(argnums, int) else tuple(blocks)
    return (jac, aux) if has_aux else jac


def _directions_first(cotangent, x, count):
    """A cotangent of input x in vector mode with `count` directions, as
    `count` rows shaped like x (a Diagonal as it is: its matrix is them)."""
    shape = np.shape(x)
    if cotangent.__class__ is np.ndarray and cotangent.shape == (
            count,) + shape:
        return cotangent
    if cotangent.__class__ is runtime.Diagonal and shape == (count,):
        return cotangent
    if cotangent is None:
        return np.zeros((count,) + shape)
    cotangent = runtime.lifted(np.asarray(cotangent), x)
    return np.broadcast_to(cotangent, (count,) + shape)


def _jacrev_per_direction(f, *args, argnums=0, has_aux=False,
                          holomorphic=False, allow_int=False,
                          chunk_size=None):
    # written as generated code calls functions (calls.vjp_functions), so
    # that a Jacobian taken inside a differentiated function is
    # differentiated too
    del chunk_size  # (one direction at a time)
    positions = (argnums,) if isinstance(argnums, int) else argnums
    _check_inputs(f, args, positions, holomorphic, allow_int, "jacrev")
    # f's own values (a closure's) are passed as generated code passes them
    # owned, as grad's: f may update its arguments, which generated code
    # never changes
    forward, pull = calls.vjp_functions(f, args, (), (calls.FUNCTION,)
                                        + tuple(positions), owned=True)
    value, residuals = forward(*runtime.bound(f), *args)
    aux = None
    if has_aux:
        _check_aux(value, f)
        value, aux = value
        held = _zero_cotangent(aux)
    _check_numbers(f, value, "jacrev")
    _check_real(f, value, holomorphic)
    build = _jacrev_tree if _any_tree(value, args, positions) \
        else _jacrev_arrays
    jac = build(args, argnums, value, residuals, pull,
                held if has_aux else None, holomorphic)
    return (jac, aux) if has_aux else jac


def _jacrev_arrays(args, argnums, value, residuals, pull, held,
                   holomorphic):
    """`_jacrev_per_direction` for array and number inputs and outputs: one
    backward sweep per output element."""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    out_shape = np.shape(value)
    cotangents = []  # per output element, per position
    for idx in np.ndindex(*out_shape):
        basis = np.zeros(out_shape, dtype=complex if holomorphic else float)
        basis[idx] = 1.0
        basis = basis if out_shape else basis[()]
        cotangents.append(pull(residuals, basis if held is None
                               else (basis, held)))
    blocks = []
    for k in range(len(positions)):
        in_shape = np.shape(args[positions[k]])
        if _input_kind(args[positions[k]]) == "int":
            # allow_int: an integer input has no derivative (zeros, as the
            # gradient gives it)
            blocks.append(np.zeros(out_shape + in_shape))
            continue
        # complex rows for a complex input: the imaginary part is kept
        kind = _jacobian_dtype(args[positions[k]],
                               np.iscomplexobj(args[positions[k]]))
        rows = [np.asarray(c[k + 1], dtype=kind) for c in cotangents]
        stacked = np.stack(rows) if rows else np.zeros((0,) + in_shape)
        blocks.append(np.reshape(stacked, out_shape + in_shape))
    return blocks[0] if isinstance(argnums, int) else tuple(blocks)


def _check_numbers(f, value, what, records=False):
    """Refuse an output with a leaf that is not a number or an array of
    numbers (None, a string, an object; `records`: but a namedtuple's or
    dataclass's fields, which vjp takes): it has no derivative."""
    if _is_real_input(value):
        return  # (the common case, at once)
    for path, leaf in _leaves(value):
        if leaf is None or isinstance(leaf, (str, bytes)) or not (
                records and runtime.fields(leaf) is not None) and \
                np.asarray(leaf).dtype.kind not in "biufc":
            where = "".join(f"[{p!r}]" for p in path)
            raise errors.GradientShapeError(
                f"{what} of {_name(f)}: the function returned "
                f"{'None' if leaf is None else _describe(leaf)}"
                f"{' at ' + where if where else ''}, "
                "which has no derivative; return numbers or arrays")


def _check_real(f, value, holomorphic):
    """Refuse a complex output of jacrev unless holomorphic."""
    if _is_real_input(value):
        return  # (the common case, at once)
    if not holomorphic and _any_complex(value):
        raise errors.InputTypeError(
            f"jacrev of {_name(f)}: its output is complex; pass "
            "holomorphic=True for the complex derivative of a holomorphic "
            "function")


def _any_complex(value):
    """Whether an output (a number, an array or a structure of them) holds
    a complex leaf."""
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, (list, tuple)):
        return np.iscomplexobj(value)
    found = False
    for item in value:
        if _any_complex(item):
            found = True
    return found


def _jacrev_tree(args, argnums, value, residuals, pull, held,
                 holomorphic):
    """`_jacrev` for inputs or outputs that are tuples, lists or dicts (as
    `_jacfwd_tree` lays them out): one backward sweep per element of each
    output leaf."""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    dtype = complex if holomorphic else float
    zeros = _zeros(value, dtype)
    rows = {}  # per output leaf: per element, the inputs' cotangents
    for path, leaf in _leaves(value):
        shape = np.shape(leaf)
        rows[path] = []
        for idx in np.ndindex(*shape):
            basis = np.zeros(shape, dtype=dtype)
            basis[idx] = 1.0
            cotangent = runtime.tree_adjoint(
                _put(zeros, path, basis if shape else basis[()]), value)
            grads = pull(residuals, cotangent if held is None
                         else (cotangent, held))
            rows[path].append([runtime.tree_like(grads[k + 1], args[i])
                               for k, i in enumerate(positions)])

    def block(k, out_path, out_leaf, in_path, in_leaf):
        shape = np.shape(out_leaf) + np.shape(in_leaf)
        kind = complex if np.iscomplexobj(in_leaf) else float
        parts = [_leaf_array(_get(r[k], in_path), in_leaf, kind)
                 for r in rows[out_path]]
        if not parts or _input_kind(in_leaf) == "int":  # (allow_int)
            return np.zeros(shape, dtype=kind)
        return np.reshape(np.stack(parts), shape)
    return _laid_out(value, args, argnums, block)


def _leaf_array(g, leaf, kind):
    """A leaf of a cotangent as an array of its input leaf's shape (zeros
    where it is None: the output does not depend on that leaf)."""
    if g is None:
        return np.zeros(np.shape(leaf), dtype=kind)
    return np.broadcast_to(np.asarray(g, dtype=kind), np.shape(leaf))


def _zero_cotangent(aux):
    """The cotangent of a function's auxiliary output: zeros in its
    structure (aux is not differentiated). A constant, so a Jacobian taken
    inside a differentiated function differentiates it as one."""
    return runtime.tree_adjoint(runtime.tangents(None, aux), aux)


def _as_float(value):
    """An array of a derivative: float, or complex when it is (a real part
    is not silently taken)."""
    value = np.asarray(value)
    return value.astype(complex if value.dtype.kind == "c" else float)


class _Transformed(functools.partial):
    """What `jacfwd`, `jacrev` and `jacobian` return: their function bound
    to `f` (differentiated again through that function: see
    `calls.callee`), an entry point of the API when called."""
    what = None  # what messages call it, if not its function's name

    def called(self, what):
        """Itself, named `what` in messages (a Hessian's jacfwd)."""
        self.what = what
        return self

    @_located
    def __call__(self, *args, **kwargs):
        argnums = self.keywords.get("argnums", self.keywords.get(
            "argnum", ()))  # (a Hessian's rows check their own)
        _refuse_dataclasses(self.what or self.func.__name__.lstrip("_"),
                            self.args[0], args, argnums)
        if kwargs and self.func in (_jacfwd, _jacrev, _elementwise_grad):
            return self.func(_with_keywords(self.args[0], kwargs),
                             *self.args[1:], *args, **self.keywords)
        return super().__call__(*args, **kwargs)


class _Jacobian(_Transformed):
    """What `jacobian` returns: records the mode it used last (`.mode`)."""
    mode = None

    @_located
    def __call__(self, *args, **kwargs):
        # the mode, chosen by running f once, kept per shape of the
        # arguments (it decides only the time a Jacobian takes, never its
        # value)
        f = _with_keywords(self.args[0], kwargs)
        kinds = _argument_kinds(args) if not kwargs else None
        modes = self.__dict__.setdefault("_modes", {})
        self.mode = modes.get(kinds) if kinds is not None else None
        if self.mode is None:
            self.mode = _jacobian_mode(f, args, self.keywords["argnums"],
                                       ties="forward",
                                       has_aux=self.keywords["has_aux"])
            if kinds is not None and len(modes) < 64:
                modes[kinds] = self.mode
        # (what _Transformed.__call__ does, in this one entry point)
        _refuse_dataclasses("jacobian", f, args, self.keywords["argnums"])
        try:
            return self.func(f, *args, mode=self.mode, **self.keywords)
        except errors.UnsupportedCallError as exc:
            # a custom_vjp with no jvp: reverse mode, which it has
            if getattr(exc, "missing_mode", None) != self.mode:
                raise
        self.mode = "reverse"
        return self.func(f, *args, mode=self.mode, **self.keywords)


def _with_keywords(f, kwargs):
    """`f` with the keyword arguments of a call of a Jacobian bound to it:
    they are not differentiated (as JAX's), only the positional arguments
    argnums names."""
    return functools.partial(f, **kwargs) if kwargs else f


@_located
def jacobian(fun: Callable, argnums: Argnums = 0, has_aux: bool = False,
             holomorphic: bool = False, *,
             chunk_size: Optional[int] = None) -> Callable:
    """The Jacobian of `fun`, by forward mode when it has no more inputs than
    outputs and by reverse mode otherwise: forward mode is one sweep of
    vector mode carrying a direction per input, reverse mode one backward
    sweep carrying a cotangent per output (`chunk_size`: at most this many
    per sweep). `has_aux` and `holomorphic` as jacfwd's and jacrev's. The
    returned function records the mode it used last in its `mode`
    attribute."""
    _check_chunk_size(chunk_size, "jacobian")
    return _Jacobian(_jacobian, fun, argnums=_tuple(argnums),
                     has_aux=has_aux, holomorphic=holomorphic,
                     chunk_size=chunk_size)


def _jacobian(f, *args, argnums=0, has_aux=False, holomorphic=False,
              mode=None, chunk_size=None):
    # (`mode`: as `_Jacobian` chose it; inside a function s2sad
    # differentiates, chosen here, reverse mode on ties)
    if (mode or _jacobian_mode(f, args, argnums, has_aux=has_aux)) == \
            "forward":
        return _jacfwd(f, *args, argnums=argnums, has_aux=has_aux,
                       holomorphic=holomorphic, chunk_size=chunk_size)
    return _jacrev(f, *args, argnums=argnums, has_aux=has_aux,
                   holomorphic=holomorphic, chunk_size=chunk_size)


def _argument_kinds(args):
    """The class, shape and dtype of each argument when all are numbers or
    NumPy arrays, else None."""
    kinds = []
    for a in args:
        cls = a.__class__
        if cls is np.ndarray or isinstance(a, np.generic):
            kinds.append((cls, a.shape, a.dtype))
        elif cls in (float, int, bool, complex):
            kinds.append(cls)
        else:
            return None
    return tuple(kinds)


def _jacobian_mode(f, args, argnums, ties="reverse", has_aux=False):
    """The mode of fewer directions: forward mode's sweep of vector mode
    carries one per input, reverse mode's backward sweep one per output;
    `ties`: the mode where there are as many. (jacobian called directly
    takes forward mode then, which keeps no tape; a jacobian inside a
    function s2sad differentiates takes reverse mode, as its derivative
    through jacfwd, one direction at a time, fails at the fourth order.)"""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    _any_tree(None, args, positions)  # (argnums checked)
    inputs = sum(_size(args[i]) for i in positions)
    out = f(*_copied(args))  # (f may change its arguments)
    if has_aux:
        _check_aux(out, f)
        out = out[0]
    outputs = _size(out)
    if inputs == outputs:
        return ties
    return "forward" if inputs < outputs else "reverse"


def _size(tree):
    """The number of elements of the leaves of a structure."""
    return sum(np.size(leaf) for _, leaf in _leaves(tree))


@_located
def jacfwd(fun: Callable, argnums: Argnums = 0, has_aux: bool = False,
           holomorphic: bool = False, *, backend: str = "python",
           fallback: str = "raise",
           chunk_size: Optional[int] = None) -> Callable:
    """The Jacobian of `fun` by forward mode, as `jax.jacfwd`: a tangent
    per input element, all of them in one sweep of vector mode (the
    generated `jvps_f`, whose tangents carry a leading axis of directions).

    Returns a function of fun's arguments giving an array of shape
    `fun(...).shape + x.shape` for `argnums` an int (a tuple of them for a
    tuple of argnums); `(jacobian, aux)` with has_aux. Integer inputs are
    refused; complex ones need holomorphic=True. `chunk_size`: at most
    this many directions per sweep (memory grows with it: each tangent
    holds one value per direction); None: all at once. Inputs or outputs
    that are tuples, lists or dicts, and backend="numba", take one jvp per
    direction. (`backend`, `fallback`: as `jvp`'s.)
    """
    kernels.check_backend(backend, fallback)
    _check_chunk_size(chunk_size, "jacfwd")
    return _Transformed(_jacfwd, fun, argnums=_tuple(argnums),
                        has_aux=has_aux, holomorphic=holomorphic,
                        backend=backend, fallback=fallback,
                        chunk_size=chunk_size)


def _jacfwd(f, *args, argnums=0, has_aux=False, holomorphic=False,
            backend="python", fallback="raise", chunk_size=None):
    """jacfwd's: every direction of an input in one sweep of vector mode
    (a chunk of `chunk_size` directions per sweep), for inputs and outputs
    that are numbers or arrays; otherwise, and with backend="numba", one
    jvp per direction (`_jacfwd_per_direction`, which is also what s2sad
    differentiates where a differentiated function calls a jacfwd)."""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    per_direction = functools.partial(
        _jacfwd_per_direction, f, *args, argnums=argnums, has_aux=has_aux,
        holomorphic=holomorphic, backend=backend, fallback=fallback)
    if backend != "python" or _any_tree(None, args, positions):
        return per_direction()
    _check_inputs(f, args, positions, holomorphic, False, "jacfwd")
    jvps = calls.jvp_function(f, args, (), (calls.FUNCTION,)
                              + tuple(positions), owned=True, vector=True)
    values = runtime.bound(f)  # a closure's values, held
    held = tuple(runtime.zero_directions(v) for v in values)
    zeros = [runtime.zero_directions(args[i]) if len(positions) > 1 else None
             for i in positions]
    columns = []
    out = aux = None
    for slot, i in enumerate(positions):
        shape = np.shape(args[i])
        n = math.prod(shape)
        dtype = _jacobian_dtype(args[i], holomorphic)
        step = n if chunk_size is None else chunk_size
        block = []
        for start in range(0, n, step) if n else [0]:
            count = min(step, n - start)
            # (an empty input: a sweep for the value)
            seeds = _unit_seeds(shape, start, count, dtype) if count else \
                runtime.zero_directions(args[i])
            tangents = list(zeros)
            tangents[slot] = seeds
            out, tangent = jvps(*values, *args, held, *tangents)
            if has_aux:
                _check_aux(out, f)
                (out, aux), tangent = out, tangent[0]
            if _is_tree(out):
                return per_direction()
            if count:
                block.append(_directions_last(tangent, out, count))
        _check_numbers(f, out, "jacfwd")
        out_shape = np.shape(out)
        # (of the output's and the input's float types: float32 for a
        # float32 computation, as a gradient is)
        kind = _block_kind(out, dtype)
        columns.append(_jacobian_block(block, -1, kind, out_shape + shape))
    jac = columns[0] if isinstance(argnums, int) else tuple(columns)
    return (jac, aux) if has_aux else jac


def _unit_seeds(shape, start, count, dtype):
    """Directions `start` to `start + count` of the unit vectors of an
    input (or output) of `shape`, a leading axis of directions: all of a
    vector's as a `runtime.Diagonal` (kept diagonal: O(n))."""
    n = math.prod(shape)
    if count == n and shape == (n,):
        return runtime.Diagonal(np.ones(n, dtype), unit=True)
    return np.eye(n, dtype=dtype)[start:start + count].reshape(
        (count,) + shape)


def _block_kind(value, dtype):
    """The dtype of a Jacobian's block between `value` (an input or output)
    and a sweep's `dtype`: of their float types, or complex (float32 for a
    float32 computation, as a gradient is)."""
    if value.__class__ is np.ndarray and value.dtype is dtype:
        return dtype  # (the common case, at once)
    return np.result_type(_jacobian_dtype(value, np.iscomplexobj(value)),
                          dtype)


def _jacobian_block(parts, axis, kind, shape):
    """A Jacobian block from the chunks of a vector-mode sweep, joined
    along `axis` (their axis of directions): a new array of `kind` and
    `shape` (a copy: they may be views of the seeds or of f's data). A
    Diagonal's matrix is made once, here (it is its own transpose)."""
    if len(parts) == 1 and parts[0].__class__ is runtime.Diagonal and \
            parts[0].shape == shape:
        return parts[0].dense().astype(kind, copy=False)
    if not parts:
        return np.zeros(shape, kind)
    parts = [np.asarray(p) for p in parts]
    stacked = parts[0] if len(parts) == 1 else np.concatenate(parts, axis)
    return np.array(stacked, dtype=kind, order="C").reshape(shape)


def _jacobian_dtype(x, complex_=False):
    """The dtype of a Jacobian's block for input x: complex for a complex
    one, x's own float or complex dtype (float32 stays float32, complex64
    complex64), else float64."""
    if complex_:  # (of a Python number, as NumPy holds it: double)
        return np.result_type(np.asarray(x).dtype, np.complex64)
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else \
        np.dtype(float)


def _directions_last(tangent, out, count):
    """A tangent of vector mode with `count` directions, the directions on
    its last axis: (zeros for an output holding integers)."""
    shape = np.shape(out)
    if np.asarray(out).dtype.kind in "biu":
        return np.zeros(shape + (count,))
    if tangent.__class__ is runtime.Diagonal and shape == (count,):
        return tangent  # (as it is: the Jacobian is its matrix)
    tangent = np.asarray(tangent)
    if tangent.dtype.kind not in "fc":
        tangent = _as_float(tangent)
    if tangent.shape != (count,) + shape:
        tangent = np.broadcast_to(tangent, (count,) + shape)
    return tangent.transpose(tuple(range(1, tangent.ndim)) + (0,))


def _jacfwd_per_direction(f, *args, argnums=0, has_aux=False,
                          holomorphic=False, backend="python",
                          fallback="raise", chunk_size=None):
    # as `_jacrev`, through calls.jvp_function
    positions = (argnums,) if isinstance(argnums, int) else argnums
    _check_inputs(f, args, positions, holomorphic, False, "jacfwd")
    jvp_fn = calls.jvp_function(f, args, (), (calls.FUNCTION,)
                                + tuple(positions), owned=True,
                                backend=backend, fallback=fallback)
    values = runtime.bound(f)  # a closure's values, held
    held = runtime.bound(runtime.zeros_like(f))
    dtype = complex if holomorphic else float
    if _any_tree(None, args, positions):
        return _jacfwd_tree(f, args, argnums, has_aux, dtype, jvp_fn,
                            values, held)
    del chunk_size  # (one direction at a time)
    columns = []
    out = aux = None
    for slot, i in enumerate(positions):
        x = np.asarray(args[i], dtype=dtype)
        zeros = [_like(args[j], np.zeros_like(np.asarray(args[j],
                                                         dtype=dtype)))
                 for j in positions]
        block = []
        for idx in np.ndindex(*x.shape):
            basis = np.zeros(x.shape, dtype=dtype)
            basis[idx] = 1.0
            # (one slot: argnums=(0, 0) differentiates x twice, not 2 x)
            tangents = [_like(args[j], basis) if k == slot else zeros[k]
                        for k, j in enumerate(positions)]
            out, column = jvp_fn(*values, *args, held, *tangents)
            if has_aux:
                _check_aux(out, f)
                (out, aux), column = out, column[0]
            if _is_tree(out):
                return _jacfwd_tree(f, args, argnums, has_aux, dtype,
                                    jvp_fn, values, held)
            block.append(_as_float(column))
        if out is None:  # (no columns: the value, as generated code runs
            # f, which never changes the arguments f may update)
            out, _ = jvp_fn(*values, *args, held, *zeros)
            if has_aux:
                _check_aux(out, f)
                out, aux = out
            if _is_tree(out):
                return _jacfwd_tree(f, args, argnums, has_aux, dtype,
                                    jvp_fn, values, held)
        _check_numbers(f, out, "jacfwd")
        out_shape = np.shape(out)
        stacked = np.stack(block, axis=-1) if block else np.zeros(
            out_shape + (0,))
        columns.append(np.reshape(stacked, out_shape + x.shape))
    jac = columns[0] if isinstance(argnums, int) else tuple(columns)
    return (jac, aux) if has_aux else jac


def _is_tree(value):
    """Whether a function's input or output is a structure (a tuple, list
    or dict) rather than a number or an array."""
    return isinstance(value, (tuple, list, dict))


def _any_tree(out, args, positions):
    """Whether an output or an input at `positions` is a structure (an
    argnums past the arguments is refused)."""
    for i in positions:
        if not -len(args) <= i < len(args):
            raise errors.S2SADError(
                f"argnums={i} does not name an argument of the call, which "
                f"passes {len(args)}; give an int or a tuple of ints from 0 "
                f"to {len(args) - 1}")
    found = _is_tree(out)
    for i in positions:
        if _is_tree(args[i]):
            found = True
    return found


def _jacfwd_tree(f, args, argnums, has_aux, dtype, jvp_fn, values, held):
    """`_jacfwd` for inputs or outputs that are tuples, lists or dicts, as
    JAX gives it: the output's structure outside, the input's inside, each
    leaf of shape `out_leaf.shape + in_leaf.shape`: one JVP per element of
    each input leaf."""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    zeros = [_zeros(args[j], dtype) for j in positions]
    out = aux = None
    columns = {}  # per position and input leaf: a tangent per element
    for k, i in enumerate(positions):
        for path, leaf in _leaves(args[i]):
            shape = np.shape(leaf)
            columns[k, path] = []
            for idx in np.ndindex(*shape):
                basis = np.zeros(shape, dtype=dtype)
                basis[idx] = 1.0
                tangents = list(zeros)
                tangents[k] = _put(zeros[k], path, _like(leaf, basis))
                out, column = jvp_fn(*values, *args, held, *tangents)
                if has_aux:
                    _check_aux(out, f)
                    (out, aux), column = out, column[0]
                columns[k, path].append(runtime.tangents(column, out))
    if out is None:  # (no columns: as `_jacfwd`)
        out, _ = jvp_fn(*values, *args, held, *zeros)
        if has_aux:
            _check_aux(out, f)
            out, aux = out
    _check_numbers(f, out, "jacfwd")

    def block(k, out_path, out_leaf, in_path, in_leaf):
        shape = np.shape(out_leaf) + np.shape(in_leaf)
        parts = [_as_float(_get(c, out_path)) for c in columns[k, in_path]]
        if not parts:
            return np.zeros(shape, dtype=dtype)
        return np.reshape(np.stack(parts, axis=-1), shape)
    jac = _laid_out(out, args, argnums, block)
    return (jac, aux) if has_aux else jac


def _laid_out(out, args, argnums, block):
    """A Jacobian as JAX lays it out: the output's structure outside; in
    it, for each output leaf, the input's structure (a tuple of them for a
    tuple of argnums), each leaf `block(k, out_path, out_leaf, in_path,
    in_leaf)` for the k-th of argnums."""
    def inputs(out_path, out_leaf):
        blocks = tuple(_map_leaves(args[i], functools.partial(
            block, k, out_path, out_leaf)) for k, i in enumerate(
                (argnums,) if isinstance(argnums, int) else argnums))
        return blocks[0] if isinstance(argnums, int) else blocks
    return _map_leaves(out, inputs)


def _map_leaves(tree, function):
    """`tree` with each leaf replaced by `function(path, leaf)`."""
    for path, leaf in list(_leaves(tree)):
        tree = _put(tree, path, function(path, leaf))
    return tree


@_located
def hessian(fun: Callable, argnums: Argnums = 0, has_aux: bool = False,
            holomorphic: bool = False, *, backend: str = "python",
            fallback: str = "raise",
            chunk_size: Optional[int] = None) -> Callable:
    """The Hessian of a scalar function, as `jax.hessian`: forward over
    reverse, the forward-mode Jacobian of s2sad's gradient, one sweep of
    vector mode (`chunk_size`: at most this many directions per sweep; shape
    `x.shape + x.shape`). For a tuple of argnums, a tuple of tuples:
    `H[i][j]` has shape `x_i.shape + x_j.shape`. `(hessian, aux)` with
    has_aux. Where the arguments at argnums are a few floats (at most 8),
    each entry of the upper triangle is one sweep of forward over forward
    mode on numbers instead (unless the gradient runs a gradient hook, or
    a custom_vjp has no jvp), which keeps the generated float code: for
    scalar code, tens of times faster than vector mode's arrays of
    directions.

    With backend="numba", the Hessian of code on numbers (real numbers
    at argnums) is forward over forward mode compiled by Numba: one call
    of the compiled second derivative per entry of its upper triangle.
    Other arguments (arrays) take the Python Hessian. (`fallback`: as
    `grad`'s.)"""
    kernels.check_backend(backend, fallback)
    if backend == "numba" and not holomorphic:
        compiled = _Transformed(
            _hessian_compiled, fun, argnums=_tuple(argnums), has_aux=has_aux,
            fallback=fallback, python=hessian(fun, argnums, has_aux))
        compiled.__s2sad_not_differentiated__ = (
            "hessian", "leave out backend='numba' for a Hessian inside "
            "differentiated code")
        return compiled.called("hessian")
    argnums = _tuple(argnums)
    # a holomorphic gradient is jacrev's (grad's generated code is real)
    gradient = functools.partial(jacrev, holomorphic=True) if holomorphic \
        else grad
    if isinstance(argnums, int):
        rows = (jacfwd(gradient(fun, argnums, has_aux), argnums, has_aux,
                       holomorphic, chunk_size=chunk_size).called("hessian"),)
        swept = rows[0]
    else:
        rows = tuple(jacfwd(gradient(fun, i, has_aux), argnums, has_aux,
                            holomorphic,
                            chunk_size=chunk_size).called("hessian")
                     for i in argnums)
        swept = _Transformed(_hessian_blocks, rows, has_aux=has_aux)
    if holomorphic:
        return swept
    # of a few floats: an entry per sweep of forward over forward mode,
    # over the generated code's float variant (see `_hessian_of_numbers`)
    numbers = _Transformed(_hessian_of_numbers, *swept.args,
                           argnums=argnums, has_aux=has_aux,
                           python=swept).called("hessian")
    # (inside differentiated code, the sweep's derivative: it binds the
    # same values, `runtime.bound`)
    numbers.__s2sad_differentiated_as__ = swept
    return numbers


_NUMBERS_AT_MOST = 8  # inputs of a Hessian by entries (k (k + 1) / 2 sweeps)


def _hessian_of_numbers(bound, *args, argnums, has_aux, python, **kwargs):
    """hessian's where every argument at argnums is a float (or a NumPy
    float64), at most _NUMBERS_AT_MOST of them: each entry of the upper
    triangle is one sweep of the jvp of the jvp, code on numbers that keeps
    the generated float variant (forward over reverse runs vector mode
    over the gradient's general variant, whose tangents are arrays of
    directions: there about 40 times slower, RK4 over 1000 steps). Else,
    or where a gradient runs a gradient hook (which forward mode does
    not), or forward mode is refused (a custom_vjp with no jvp), `python`:
    the Hessian by one sweep of vector mode over the gradient. (`bound`:
    what `python` binds, the gradient, or its rows of jacfwds of
    gradients.)"""
    if kwargs:  # (bound, not differentiated: see `_with_keywords`)
        return python(*args, **kwargs)
    gradients = tuple(row.args[0] for row in bound) if isinstance(
        bound, tuple) else (bound,)
    f = gradients[0].fun
    positions = (argnums,) if isinstance(argnums, int) else argnums
    if f.__class__ is not types.FunctionType or \
            len(set(positions)) > _NUMBERS_AT_MOST or \
            not all(-len(args) <= i < len(args) and (
                args[i].__class__ is float or args[i].__class__ is np.float64)
                for i in positions) or \
            any(map(_runs_hooks, gradients)):
        return python(*args)
    try:
        return _hessian_compiled(f, *args, argnums=argnums, has_aux=has_aux,
                                 fallback="raise", python=python,
                                 backend="python")
    except errors.UnsupportedCallError as exc:
        if getattr(exc, "missing_mode", None) != "forward":
            raise
    return python(*args)


def _takes_positionally(fn, values):
    """Does `fn` take `values` positionally, one per parameter, with no
    defaults, `*args`, `**kwargs` or keyword-only parameters? Its jvp, and
    the jvp of that, then take their tangents positionally after them
    (after a default, generated code takes them by name)."""
    code = getattr(fn, "__code__", None)
    return code is not None and not code.co_flags & (
        inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) and not \
        code.co_kwonlyargcount and not fn.__defaults__ and \
        len(values) == code.co_argcount


def _runs_hooks(gradient):
    """Does the code of `gradient` (a Derivative), or a callee's, run a
    gradient hook (`with s2sad.grad_of(...)`)? Kept on its generated
    function, whose guard covers the callees."""
    try:
        instance = gradient._fresh_instance()
    except errors.S2SADError:
        return True  # (refused in reverse mode: the sweep says why)
    found = getattr(instance, "runs_hooks", None)
    if found is None:
        found = instance.runs_hooks = reverse.HOOK_COMMENT in \
            derive.source_of(instance)
    return found


def _hessian_compiled(f, *args, argnums, has_aux, fallback, python,
                      backend="numba"):
    """hessian's with backend='numba' (see `hessian`); `python`: the
    Python Hessian, for arguments at argnums that are not real numbers, an
    output that is not a real number (it says so), and calls the compiled
    code cannot take (keyword-only arguments). (`backend`="python": the
    same sweeps, not compiled.)"""
    positions = (argnums,) if isinstance(argnums, int) else argnums
    if not all(-len(args) <= i < len(args) and runtime.is_number(args[i])
               for i in positions):
        return python(*args)  # (which refuses an argnums past the call's)
    _check_inputs(f, args, positions, False, False, "hessian")
    unique = tuple(dict.fromkeys(positions))  # (argnums=(0, 0): one block)
    second = _second_derivative(f, args, unique, fallback, backend=backend)
    if second is None:
        return python(*args)
    entries, aux = {}, None
    for i, a in enumerate(unique):
        for j, b in enumerate(unique[i:], i):
            value, entry = _second_entry(second(i, j), f, has_aux)
            if entry is None:
                return python(*args)
            aux = value[1] if has_aux else None
            entries[a, b] = entries[b, a] = np.asarray(float(entry))
    out = entries[argnums, argnums] if isinstance(argnums, int) else tuple(
        tuple(entries[a, b] for b in positions) for a in positions)
    return (out, aux) if has_aux else out


def _second_entry(out, f, has_aux):
    """(the function's value, the second derivative) of a compiled second
    derivative's `out`, or (value, None) where the function's output (with
    has_aux, its first item) is not a real number."""
    (value, _), (_, entry) = out
    output = value
    if has_aux:
        _check_aux(value, f)
        output, entry = value[0], entry[0]
    if output.__class__ not in (float, np.float64) or \
            not runtime.is_number(entry):
        return value, None
    return value, entry


def _second_derivative(f, args, positions, fallback, outer=None,
                       backend="numba"):
    """The second derivative of `f` at `args` along two directions, by
    forward over forward mode compiled by Numba: a function of (i, j)
    giving `((value, tangent), (its tangent))` for the inner tangent the
    i-th unit vector of the arguments at `positions` and the outer one
    the j-th (or, j None, the tangents `outer`); None for a call it cannot
    make (a keyword-only argument, `*args`)."""
    if isinstance(f, _Transformed):
        raise errors.UnsupportedCallError(
            "backend='numba' compiles the second derivatives of a function "
            "of yours, not of an s2sad transformation (jacfwd, jacrev, "
            "hessian); leave out backend='numba' here")
    fn, leading, keywords = calls.target(f, len(args))
    shifted, items = _check_argnums(fn, positions, len(leading), f)
    values = (*leading, *args)
    if keywords:  # (bound by a partial: in their places)
        try:
            bound = inspect.signature(fn).bind(*values, **keywords)
        except (TypeError, ValueError):
            return None
        values = None if bound.kwargs else bound.args
    if items or values is None or not _takes_positionally(fn, values):
        return None
    first = derive.derive(fn, shifted, mode="forward", owned=True)
    second = derive.derive(first, shifted, mode="forward", owned=True,
                           backend=backend, fallback=fallback)
    units = [tuple(float(m == n) for m in range(len(positions)))
             for n in range(len(positions))]

    def call(i, j):
        return second(*values, *units[i],
                      *(units[j] if j is not None else outer))
    return call


def _hessian_blocks(rows, *args, has_aux=False, **kwargs):
    out = [row(*args, **kwargs) for row in rows]
    if has_aux:
        return tuple(r[0] for r in out), out[0][1]
    return tuple(out)


@_located
def elementwise_grad(fun: Callable, argnum: int = 0) -> Callable:
    """autograd's `elementwise_grad`: the gradient of the sum of fun's
    outputs, in one reverse pass (the vjp with a cotangent of ones); the
    diagonal of the Jacobian when it is diagonal (an elementwise fun).
    (Not `s2sad.elementwise`, which declares a derivative rule.) Itself
    differentiable: `elementwise_grad(elementwise_grad(np.tanh))`."""
    return _Transformed(_elementwise_grad, fun, argnum=argnum)


def _elementwise_grad(fun, *args, argnum=0):
    # as `_jacrev`, through calls.vjp_functions
    _check_inputs(fun, args, (argnum,), False, False, "elementwise_grad")
    forward, pull = calls.vjp_functions(fun, args, (), (calls.FUNCTION,
                                                        argnum))
    value, residuals = forward(*runtime.bound(fun), *args)
    _check_real_output(fun, value)
    ones = np.ones(np.shape(value)) if np.ndim(value) else 1.0
    return runtime.gradient(pull(residuals, ones)[1], args[argnum])


def _check_real_output(fun, value):
    """elementwise_grad applies to real outputs."""
    if np.iscomplexobj(value):
        raise errors.InputTypeError(
            f"elementwise_grad of {_name(fun)}: its output is complex; "
            "elementwise_grad applies to real outputs")


@_not_differentiated(
    "use s2sad.hessian inside it (differentiated), or call s2sad.make_hvp "
    "outside it")
def make_hvp(fun: Callable, argnum: int = 0) -> Callable:
    """autograd's `make_hvp`: `make_hvp(fun, argnum)(*args)` returns
    `(hvp, gradient)`, the gradient of scalar fun at args and a function
    `hvp(v)` giving the Hessian (with respect to argument argnum) times v,
    reusing the forward pass: the vjp of the gradient (reverse over
    reverse; the Hessian is symmetric)."""
    gradient = grad(fun, argnum)

    @_not_differentiated(
        "call it outside the differentiated function, or use s2sad.hessian "
        "inside it (differentiated)", name=f"make_hvp({_name(fun)})")
    @_located
    def hvp_maker(*args):
        _check_inputs(fun, args, (argnum,), False, False, "make_hvp")
        value, vjp_fn = vjp(gradient, *args)

        @_located
        def product(v):
            return vjp_fn(v)[argnum]
        return product, value
    return hvp_maker


@_not_differentiated(
    "call s2sad.hvp outside the differentiated function, or use "
    "s2sad.hessian inside it (differentiated)")
@_located
def hvp(f: Callable, primals: Sequence, tangents: Sequence, *,
        backend: str = "python", fallback: str = "raise",
        batched: bool = False) -> tuple:
    """Hessian-vector product of a scalar function at `primals` along
    `tangents`: the JVP of its gradient (forward over reverse).

    A tangent of None holds that argument constant (data, say); the Hessian
    is taken with respect to the others. With backend="numba", the product
    at real numbers is forward over forward mode compiled by Numba (one
    call of the compiled second derivative per number), as `hessian`'s.
    With batched=True, each tangent carries a leading axis of k directions
    (a matrix of vectors), and so does each product: one sweep of vector
    mode over the gradient computes all k (see `jvp`).

    Returns:
        A tuple with the product for each primal (None where held constant).
    """
    kernels.check_backend(backend, fallback)
    if batched:  # (jvp checks each direction against its primal)
        argnums = tuple(i for i, t in enumerate(tangents) if t is not None)
    else:
        primals, tangents = _primals_and_tangents(f, primals, tangents,
                                                  "hvp")
        argnums = _with_tangents(primals, tangents)
    if not argnums:  # every argument held constant
        return (None,) * len(primals)
    product = second = None
    if backend == "numba" and not batched and all(
            runtime.is_number(primals[i]) and runtime.is_number(tangents[i])
            for i in argnums):
        second = _second_derivative(f, primals, argnums, fallback, tuple(
            tangents[i] for i in argnums))
    if second is not None:
        product = tuple(_second_entry(second(i, None), f, False)[1]
                        for i in range(len(argnums)))
        if None in product:
            product = None  # (the Python hvp says what the output is)
    if product is None:
        gradient = grad(f, argnums=argnums)
        _, product = jvp(gradient, primals, tuple(
            t if i in argnums else None for i, t in enumerate(tangents)),
            batched=batched)
    parts = iter(product)
    return tuple(next(parts) if i in argnums else None
                 for i in range(len(primals)))


def _with_tangents(primals, tangents):
    """The positions that get a tangent: floats whose tangent is not None
    (primals and tangents checked by `_primals_and_tangents`)."""
    return tuple(i for i, (p, t) in enumerate(zip(primals, tangents))
                 if t is not None and calls.differentiable(p))


@_not_differentiated(
    "call s2sad.check_grads outside the differentiated function")
@_located
def check_grads(f: Callable, args: Sequence, order: int = 1,
                modes: Sequence[str] = ("fwd", "rev"),
                atol: Optional[float] = None, rtol: Optional[float] = None,
                eps: Optional[float] = None, *,
                argnums: Optional[Argnums] = None, directions: int = 3,
                seed: int = 0) -> None:
    """Check s2sad's derivatives of `f` at `args` against central
    differences, up to `order`, as `jax.test_util.check_grads`.

    In reverse mode ("rev") every component of the gradient is compared with
    `(f(x + eps e_i) - f(x - eps e_i)) / 2eps`, and, along `directions` random
    unit vectors `v`, `v . grad f` with `(f(x + eps v) - f(x - eps v)) / 2eps`.
    In forward mode ("fwd") `jvp` along the same basis and random directions
    is compared with the same differences. For f returning an array (or a
    tuple, list or dict of them), "rev" checks the vjp of a random
    cotangent u against the differences of u . f, as JAX does; orders past
    the first then follow its derivative along a direction by forward
    mode.
    Order 2 and up checks the derivative of the derivative the same way,
    in each mode: the directional derivative along a fixed random direction
    (a JVP in "fwd", the gradient's product with it in "rev") is itself
    checked, to order - 1.

    f is called on copies of args every time, so a function that changes
    its arguments in place changes neither the caller's nor the point
    checked. A complex input is moved along its real and imaginary
    directions, against JAX's gradient of a real f(x + iy): df/dx - i df/dy.

    Args:
        args: a tuple (or list) of f's arguments.
        order: how many times to differentiate (1: first derivatives).
        atol, rtol, eps: None for 1e-8, 1e-6 and 1e-6 (tolerances grow
            tenfold per order past the first, as differences of
            differences lose digits); for float32 (float16) inputs, a step
            of 4.9e-3 (0.099) and tolerances twice that.
        argnums: the arguments checked (all by default), keyword only;
            a negative one counts from the end of args.

    Raises:
        AssertionError: with the mismatching values.
    """
    if not isinstance(order, int) or order < 1:
        raise errors.S2SADError(f"check_grads: order={order!r}; give an "
                                "int of 1 or more")
    if not isinstance(args, (tuple, list)):
        raise errors.S2SADError(
            f"check_grads of {_name(f)}: args must be a tuple or list of "
            f"f's arguments, got {_describe(args)}; write "
            "check_grads(f, (x,)) for one argument")
    args = list(args)
    if argnums is None:
        argnums = tuple(range(len(args)))
    else:
        argnums = _tuple(argnums, negative=True)
        argnums = tuple(i % len(args) if -len(args) <= i < 0 else i for i in
                        ((argnums,) if isinstance(argnums, int) else argnums))
    _refuse_dataclasses("check_grads", f, args, argnums)
    _check_inputs(f, args, argnums, False, False, "check_grads")
    # float32 and float16 inputs are moved, and compared, as their
    # precision allows: steps of about the cube root of their epsilon, where
    # a central difference loses the fewest digits
    kinds = [np.result_type(leaf) for i in argnums
             for _, leaf in _leaves(args[i]) if isinstance(
                 leaf, (float, complex, np.ndarray, np.generic))]
    unit = max([np.finfo(kind).eps for kind in kinds
                if np.issubdtype(kind, np.inexact)], default=0.0)
    coarse = unit > np.finfo(np.float64).eps
    eps = (unit ** (1 / 3) if coarse else 1e-6) if eps is None else eps
    rtol = (2 * unit ** (1 / 3) if coarse else 1e-6) if rtol is None else rtol
    atol = (2 * unit ** (1 / 3) if coarse else 1e-8) if atol is None else atol
    # (an array output's derivative along a direction is an array, whose
    # reverse mode the next order checks with a cotangent)
    arrays = _check_first(f, args, argnums, modes, eps, rtol, atol,
                          directions, seed)
    if order == 1:
        return
    rng = np.random.default_rng(seed + order)
    direction = tuple(_random_like(args[i], rng) for i in argnums)
    for mode in modes:
        derivative = functools.partial(
            _forward_directional, f, tuple(argnums), direction) \
            if mode == "fwd" or arrays else functools.partial(
                _reverse_directional, f, tuple(argnums), direction)
        check_grads(derivative, args, order - 1, modes, atol * 10,
                    rtol * 10, eps, argnums=argnums, directions=directions,
                    seed=seed)


def _forward_directional(f, argnums, direction, *args):
    """The derivative of `f` at args along `direction` (one array or
    structure per position of argnums) by forward mode: that of
    `t -> f(args + t direction)` at 0, written as s2sad differentiates it
    again (jacfwd inside)."""
    return jacfwd(_moved, 0)(0.0, f, argnums, direction, args)


def _moved(t, f, argnums, direction, args):
    """f at args moved by t times direction."""
    moved = list(args)
    for k in range(len(argnums)):
        moved[argnums[k]] = _shifted(args[argnums[k]], direction[k], t)
    return f(*moved)


def _shifted(x, v, t):
    """x + t v for numbers, arrays and tuples, lists and dicts of them."""
    if isinstance(x, dict):
        shifted = {}
        for key, value in x.items():
            shifted[key] = _shifted(value, v[key], t)
        return shifted
    if isinstance(x, (list, tuple)):
        items = []
        for item, along in zip(x, v):
            items.append(_shifted(item, along, t))
        return runtime.tree_like(items, x)  # a namedtuple's type kept
    return x + t * v


def _reverse_directional(f, argnums, direction, *args):
    """The same by reverse mode: the gradient's dot product with it, leaf
    by leaf; its real part: the derivative along a complex direction, in
    JAX's convention for the gradient of a real function of complex
    inputs."""
    total = 0.0
    for k in range(len(argnums)):
        total = total + _dot(grad(f, argnums[k])(*args), direction[k])
    return total


def _dot(g, v):
    """The real part of the sum of the products of the leaves of g and v,
    structures alike."""
    total = 0.0
    if isinstance(g, dict):
        for key, value in g.items():
            total = total + _dot(value, v[key])
    elif isinstance(g, (list, tuple)):
        for j in range(len(g)):
            total = total + _dot(g[j], v[j])
    else:
        # chosen as a function: a branch here is not differentiated to
        # the fourth order (check_grads(f, args, 4))
        part = np.real if np.iscomplexobj(v) else np.asarray
        total = part(np.sum(g * v))
    return total


def _random_like(tree, rng):
    """Random normal leaves in the structure of tree (complex ones for
    complex leaves)."""
    for path, leaf in _leaves(tree):
        tree = _put(tree, path, _leaf_like(leaf, _random(
            rng, np.shape(leaf), np.iscomplexobj(leaf))))
    return tree


def _check_first(f, args, argnums, modes, eps, rtol, atol, directions,
                 seed):
    rng = np.random.default_rng(seed)
    grads, project, arrays = None, np.asarray, False
    if "rev" in modes:
        try:
            grads = grad(f, argnums=argnums)(*_copied(args))
        except errors.GradientShapeError:
            value, pull = vjp(f, *_copied(args))
            if not _is_array_output(value):
                raise
            # an array (or a tuple, list or dict of them): reverse mode is
            # checked along a random cotangent u, as JAX's check_grads
            # does: u's vjp against the differences of u . f
            u = _random_like(value, rng)
            cotangents = pull(u)
            grads = tuple(cotangents[i] for i in argnums)
            project, arrays = functools.partial(_projected, u), True
    for k, i in enumerate(argnums):
        # a tuple, list or dict argument is checked leaf by leaf
        for path, leaf in _leaves(args[i]):
            name = getattr(f, "__name__", None) or repr(f)
            where = f"{name} (arg {i}{''.join(f'[{p!r}]' for p in path)})"
            _check_leaf(f, args, i, path, leaf, modes, eps, rtol, atol, rng,
                        directions, where,
                        None if grads is None else _get(grads[k], path),
                        project)
    return arrays


def _is_array_output(value):
    """Is `value` an array of real numbers of more than one element, or a
    tuple, list or dict of real numbers and arrays (not one number, which
    `grad` differentiates)?"""
    leaves = [leaf for _, leaf in _leaves(value)]
    return all(isinstance(leaf, (int, float, np.ndarray, np.generic)) and
               not np.iscomplexobj(leaf) for leaf in leaves) and (
        isinstance(value, (tuple, list, dict)) or np.size(value) > 1)


def _projected(u, value):
    """u . value, leaf by leaf: the number whose gradient is u's vjp."""
    return sum(np.sum(np.asarray(a) * np.asarray(b)) for (_, a), (_, b) in
               zip(_leaves(u), _leaves(value)))


def _check_leaf(f, args, i, path, leaf, modes, eps, rtol, atol, rng,
                directions, what, g, project=np.asarray):
    """Check one leaf (a number or array) of argument i, f called on
    copies of args each time (f may change its arguments in place).

    A complex leaf is moved along its real and imaginary directions; its
    gradient is JAX's, df/dx - i df/dy for a real f of z = x + iy, so that
    the derivative along v is Re(sum(g * v))."""
    complex_leaf = np.iscomplexobj(leaf)
    x = np.asarray(leaf, dtype=complex if complex_leaf else float)

    def at(value):
        moved = _copied(args)
        moved[i] = _put(moved[i], path, _leaf_like(leaf, value))
        return moved

    def along(v, project=np.asarray):
        return (project(f(*at(x + eps * v))) -
                project(f(*at(x - eps * v)))) / (2 * eps)

    def tangent(v):
        tangents = [None] * len(args)
        tangents[i] = _put(_zeros(args[i]), path, _leaf_like(
            leaf, v.astype(x.dtype)))
        return jvp(f, args, tangents)[1]
    basis = [np.eye(x.size)[j].reshape(x.shape) for j in range(x.size)]
    imaginary = [1j * v for v in basis] if complex_leaf else []
    randoms = [v / (np.linalg.norm(v) or 1.0) for v in
               (_random(rng, x.shape, complex_leaf)
                for _ in range(directions))]
    if "rev" in modes:
        g = np.asarray(g)
        numeric = np.array([along(v, project) for v in basis]).reshape(
            x.shape)
        if complex_leaf:
            numeric = numeric - 1j * np.array(
                [along(v, project) for v in imaginary]).reshape(x.shape)
        _assert_close(g, numeric, rtol, atol, f"reverse d{what}")
        for v in randoms:  # (of f's one number, whatever its shape)
            _assert_close(np.real(np.sum(g * v)), np.reshape(
                along(v, project), ()), rtol, atol,
                f"reverse directional derivative of {what}")
    if "fwd" in modes:
        for v in basis + imaginary + randoms:
            _assert_close(tangent(v), along(v), rtol, atol,
                          f"forward directional derivative of {what}")


def _random(rng, shape, complex_leaf):
    """A standard normal array of shape, complex (independent real and
    imaginary parts) for a complex leaf."""
    v = rng.standard_normal(shape)
    return v + 1j * rng.standard_normal(shape) if complex_leaf else v


def _leaf_like(original, value):
    """value as a leaf of the original's type: a Python complex for one,
    else as `_like`."""
    return complex(value) if isinstance(original, complex) else _like(
        original, value)


def _leaves(tree, path=()):
    """(path, leaf) for the numbers and arrays in nested tuples, lists and
    dicts."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, path + (key,))
    elif isinstance(tree, (list, tuple)):
        for j, value in enumerate(tree):
            yield from _leaves(value, path + (j,))
    else:
        yield path, tree


def _copied(tree):
    """A copy of nested tuples, lists and dicts with copies of the arrays
    in them, for calling a function that may change its arguments in
    place."""
    if isinstance(tree, dict):
        return {key: _copied(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_copied(value) for value in tree]
    if isinstance(tree, tuple):
        items = [_copied(value) for value in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else tuple(
            items)
    return tree.copy() if isinstance(tree, np.ndarray) else tree


def _get(tree, path):
    for key in path:
        tree = tree[key]
    return tree


def _put(tree, path, value):
    """A copy of `tree` with the leaf at `path` replaced."""
    if not path:
        return value
    key, rest = path[0], path[1:]
    if isinstance(tree, dict):
        return {**tree, key: _put(tree[key], rest, value)}
    items = list(tree)
    items[key] = _put(items[key], rest, value)
    if isinstance(tree, list):
        return items
    return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)


def _zeros(tree, dtype=float):
    """Zero tangents in the structure of `tree`."""
    for path, leaf in list(_leaves(tree)):
        tree = _put(tree, path, _leaf_like(leaf, np.zeros(
            np.shape(leaf), complex if np.iscomplexobj(leaf) else dtype)))
    return tree


def _like(original, value):
    return float(value) if isinstance(original, (float, int)) else value


def _assert_close(actual, expected, rtol, atol, what):
    if np.shape(actual) != np.shape(expected) or not np.allclose(
            actual, expected, rtol=rtol, atol=atol):
        raise AssertionError(f"{what}: s2sad gives {actual!r}, central "
                             f"differences give {expected!r}")


# the rules of these transformations called inside differentiated code
from s2sad.rules import transforms  # noqa: E402,F401


# a jacfwd or jacrev inside a differentiated function is differentiated
# through its jvps or vjps, one per direction (vector mode's code has no
# derivative rules)
_jacfwd.__s2sad_differentiated_as__ = _jacfwd_per_direction
_jacrev.__s2sad_differentiated_as__ = _jacrev_per_direction

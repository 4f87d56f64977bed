"""Calls into the user's own functions: binding, and dispatch at run time.

A call `y = g(a, b, k=c)` to a Python function without a derivative rule is
differentiated by differentiating g itself, once per (function, parameters
differentiated), cached by `derive.derive`: reverse mode calls its
vector-Jacobian pair, `vjp_g` going forward and `vjp_bwd_g` going back;
forward mode calls `jvp_g`. When the callee is known when f is transformed
(a module-level function, a method of a module-level object), f's generated
code calls those functions by name. When it is a value known only at run time
(a parameter, a local function, a lambda, `model.forward` on an argument) or
is itself being transformed (recursion), the generated code calls `vjp` or
`jvp` here, which bind the arguments and dispatch to the cached
transformation of the actual function object.

A call site names its differentiated arguments by *slot*: the position of a
positional argument, the keyword of a keyword argument, or `FUNCTION` for
the function called itself when it is a closure over differentiated values
(a `functools.partial` binding them; its cotangent holds one per value).
"""

import builtins
import collections
import functools
import inspect
import linecache
import re
import threading
import types
import weakref

import numpy

from s2sad import derive, errors, reverse, runtime
from s2sad.rules import registry


FUNCTION = -1  # the slot of the function called (see the module's doc)


class CustomVJP:
    """A function with a derivative the user wrote in plain Python, for code
    s2sad cannot read (a black box, a C extension) or should not (a solver
    with a cheaper adjoint). See `s2sad.custom_vjp`."""

    def __init__(self, fn):
        self.fn = fn
        self.fwd = self.bwd = self.jvp = None
        self.__name__ = getattr(fn, "__name__", "custom_vjp")
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def defvjp(self, fwd, bwd):
        """`fwd(*args) -> (value, residuals)`; `bwd(residuals, value_bar)`
        -> one cotangent per positional argument (None for none)."""
        self.fwd, self.bwd = fwd, bwd
        return self

    def defjvp(self, jvp):
        """`jvp(primals, tangents) -> (value, tangent)`, tuples of the
        positional arguments and their tangents (None: held constant)."""
        self.jvp = jvp
        return self

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


class Recomputed:
    """A function whose calls, in reverse mode, keep their arguments only,
    and run its derivative's forward sweep again in the backward sweep:
    `s2sad.checkpoint(fn)`. Otherwise it is fn."""

    def __init__(self, fn, save="nothing"):
        self.fn = fn
        self.save = save  # "nothing", or "products" (see extend.checkpoint)
        self.__name__ = getattr(fn, "__name__", "checkpoint")
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    @property
    def __s2sad_closure__(self):  # (see runtime.bound: fn's values)
        return getattr(self.fn, "__s2sad_closure__", None)

    def __get__(self, obj, cls=None):  # a method: checkpointed, bound
        return self if obj is None else Recomputed(types.MethodType(
            self.fn, obj), self.save)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        save = "" if self.save == "nothing" else f", save={self.save!r}"
        return f"s2sad.checkpoint({self.fn!r}{save})"


def recomputed(function):
    """The `Recomputed` a call of `function` runs: itself, or an object's
    `__call__` made `s2sad.checkpoint(...)` (bound to it); else None."""
    if isinstance(function, Recomputed):
        return function
    method = getattr(type(function), "__call__", None)
    if isinstance(method, Recomputed) and not inspect.isclass(function):
        return method.__get__(function, type(function))
    return None


def is_user_function(fn):
    """Does s2sad differentiate calls to `fn` through its source (or the
    user's plain-Python derivative), rather than through a registry rule?"""
    if registry.lookup(fn) is not None:
        return False
    if getattr(type(fn), "__s2sad_current__", None) is not None:
        return True  # a Derivative: its generated code
    if _closure_of(fn) is not None:
        return True  # a nested function bound to differentiated values
    if isinstance(fn, functools.partial):  # dispatched at run time
        return is_user_function(fn.func)
    fn = getattr(fn, "__func__", fn)  # a bound method: its function
    if isinstance(fn, CustomVJP) or recomputed(fn) is not None:
        return True
    if call_method(fn) is not None:  # an instance of a class with __call__
        return True
    if getattr(fn, "__module__", None) in _OWN_MODULES:
        return False  # s2sad's helpers have rules or no derivative
    return inspect.isfunction(fn)


_OWN_MODULES = ("s2sad.runtime", "s2sad.calls")


def _closure_of(fn):
    """The partial a nested function made by `runtime.closure` stands
    for, or None."""
    if isinstance(fn, types.FunctionType):
        return getattr(fn, "__s2sad_closure__", None)
    return None


def call_method(obj):
    """`type(obj).__call__` when obj is an instance of a user's class."""
    if inspect.isfunction(obj) or inspect.isclass(obj) or \
            inspect.ismethod(obj) or isinstance(
                obj, (CustomVJP, Recomputed)) or \
            getattr(type(obj), "__s2sad_current__", None) is not None:
        return None
    method = getattr(type(obj), "__call__", None)
    return method if inspect.isfunction(method) else None


def name_of(fn):
    """The name generated code gives a function's derivatives (`vjp_<name>`):
    a lambda is named after its line, as `frontend` parses it; a name set by
    hand (`f.__name__ = "grad of <lambda>"`) is made an identifier."""
    if fn.__name__ == "<lambda>":
        return f"lambda_{fn.__code__.co_firstlineno}"
    if fn.__name__ == "__call__":  # an instance called: its class's name
        return fn.__qualname__.split(".")[-2]
    name = re.sub(r"\W+", "_", fn.__name__).strip("_") or "function"
    return name if name.isidentifier() else f"function_{name}"


def callee(function):
    """(function to differentiate, leading arguments, keywords) for a
    callable: a bound method is its function with `self` first; a
    functools.partial its function with the arguments it binds; an object
    with `__call__` that method with the object first; a Derivative the
    generated code it runs now. A callable with a rule (np.sin passed as a
    value) or a custom_vjp is returned as it is.

    Raises:
        SourceUnavailableError (unlocated): no source and no rule.
    """
    if has_rule(function) or recomputed(function) is not None:
        return recomputed(function) or function, (), {}  # (not the source)
    if isinstance(function, numpy.vectorize):
        raise errors.UnsupportedCallError(
            "a function made by np.vectorize is not differentiated (it is a "
            "loop NumPy runs out of sight); write its function with NumPy's "
            "array operations, or call it on each element in a loop")
    refused = getattr(function, "__s2sad_not_differentiated__", None)
    if refused is not None:
        name, instead = refused
        raise errors.UnsupportedCallError(
            f"s2sad.{name} is not differentiated when a function s2sad "
            f"differentiates calls it; {instead}")
    instead = getattr(function, "__s2sad_differentiated_as__", None)
    if instead is not None:  # (the same values, by other code)
        return callee(instead)
    if isinstance(function, functools.partial):
        fn, leading, keywords = callee(function.func)
        return fn, leading + function.args, {**keywords, **function.keywords}
    current = getattr(type(function), "__s2sad_current__", None)
    if current is not None:  # a Derivative: what it computes now
        return callee(current(function))
    closure = _closure_of(function)
    if closure is not None:  # runtime.closure: its definition and values
        return callee(closure)
    self = getattr(function, "__self__", None)
    inner = getattr(function, "__func__", None)
    if isinstance(function, staticmethod):
        return callee(inner)
    if inner is not None and self is not None and is_user_function(inner):
        fn, leading, keywords = callee(inner)
        return fn, (self,) + leading, keywords
    if inspect.isfunction(function):
        return function, (), {}
    if call_method(function) is not None:
        return call_method(function), (function,), {}
    what = getattr(function, "__qualname__", None) or repr(function)
    raise errors.SourceUnavailableError(
        f"cannot differentiate {what}: it has no Python source s2sad can "
        "read and no derivative rule; give it a rule with @s2sad.adjoint "
        "and @s2sad.tangent, or wrap it in s2sad.custom_vjp with fwd and bwd "
        "functions")


def target(function, nargs=None):
    """`callee`, with a callable known by its rule or custom_vjp wrapped in
    a Python function calling it with `nargs` positional arguments (by
    default as many as it requires), so it is differentiated like the
    user's functions."""
    if recomputed(function) is not None:  # (the whole differentiated)
        return target(recomputed(function).fn, nargs)
    fn, leading, keywords = callee(function)
    if has_rule(fn):
        if nargs is None:
            nargs = _arity(fn) - len(leading)
        fn = _as_function(fn, len(leading) + nargs, keywords)
    return fn, leading, keywords


def has_rule(fn):
    """Is `fn` differentiated by a rule or the user's own derivative?"""
    return registry.lookup(fn) is not None or isinstance(fn, CustomVJP)


def _arity(fn):
    """How many positional arguments `fn` requires (a ufunc: its inputs)."""
    if isinstance(fn, numpy.ufunc):
        return fn.nin
    try:
        signature = inspect.signature(fn.fn if isinstance(fn, CustomVJP)
                                      else fn)
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in signature.parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is p.empty) or 1


class Binding:
    """Where a call site's differentiated arguments land in the callee.

    Attributes:
        argnums: the callee's parameters that receive them, in order (what
            the callee is differentiated with respect to): positions; the
            number of positional parameters, standing for `*args`; names of
            keyword-only parameters.
        order: for each differentiated slot, in the order given, the index
            of its parameter in `argnums`, or (index, item) for an item of
            `*args`.
    """

    def __init__(self, argnums, order, nitems=0):
        self.argnums, self.order = argnums, order
        self.nitems = nitems  # how many arguments `*args` takes

    def pick(self, cotangents):
        """Per-slot cotangents from the callee's, per parameter."""
        return [cotangents[i] if isinstance(i, int) else cotangents[i[0]][i[1]]
                for i in self.order]

    def spread(self, tangents, args):
        """Per-parameter tangents from per-slot ones (all of `*args` gets
        one: zeros where no slot gives it)."""
        by_param = [None] * len(self.argnums)
        for tangent, i in zip(tangents, self.order):
            if isinstance(i, tuple):
                i, item = i
                if by_param[i] is None:
                    start = len(args) - self.nitems
                    by_param[i] = [runtime.zero_tangent(a)
                                   for a in args[start:]]
                by_param[i][item] = tangent
            else:
                by_param[i] = tangent if by_param[i] is None \
                    else by_param[i] + tangent
        return [tuple(t) if isinstance(t, list) else t for t in by_param]


_BINDINGS = {}
_MAX_BINDINGS = 4096


def clear_cache():
    _GENERATION[0] += 1
    with _KEPT_LOCK:
        _KEPT.clear()
        _HELD.clear()
    _BINDINGS.clear()
    _WRAPPERS.clear()
    _ADAPTERS.clear()


def _signature_key(fn):
    """What `bind` depends on: a function's code and which parameters have
    defaults (not the function object: the closures made per call of an
    outer function would all be kept)."""
    if not inspect.isfunction(fn):
        return fn
    return (fn.__code__, len(fn.__defaults__ or ()),
            tuple(fn.__kwdefaults__ or ()))


def bind(fn, leading, npositional, keywords, slots):
    """Bind a call's differentiated slots to fn's positional parameters.

    Args:
        leading: how many arguments come before the call's own (a bound
            method's `self`).
        npositional: how many positional arguments the call passes.
        keywords: the keyword names it passes.
        slots: the differentiated slots (ints: positions in the call's own
            arguments; strs: keywords).

    Raises:
        UnsupportedCallError (unlocated) when the call does not fit fn's
        signature, or a differentiated value lands in `*args`, `**kwargs` or
        a keyword-only parameter.
    """
    key = (_signature_key(fn), leading, npositional, tuple(keywords),
           tuple(slots))
    found = _BINDINGS.get(key)
    if found is not None:
        return found
    name = getattr(fn, "__name__", repr(fn))
    if registry.lookup(fn) is not None or isinstance(fn, CustomVJP):
        # a rule or a user derivative: one parameter per positional argument
        params = ()
        if isinstance(fn, CustomVJP):
            try:
                params = list(inspect.signature(fn.fn).parameters)
            except (TypeError, ValueError):
                pass
        by_name = {p: i for i, p in enumerate(params)}
        positions = []
        for slot in slots:
            if isinstance(slot, int):
                positions.append(leading + slot)
            elif slot in by_name:
                positions.append(by_name[slot])
            else:
                raise errors.UnsupportedCallError(
                    f"{name}: pass the differentiated argument `{slot}=` "
                    "positionally")
    else:
        positions = _positions(fn, name, leading, npositional, keywords, slots)
    plain = sorted({p for p in positions if isinstance(p, int)})
    named = sorted({p for p in positions if isinstance(p, str)})
    starred = [p for p in positions if isinstance(p, tuple)]
    argnums = tuple(plain + ([starred[0][0]] if starred else []) + named)
    found = Binding(argnums, [argnums.index(p) if isinstance(p, (int, str))
                              else (argnums.index(p[0]), p[1])
                              for p in positions],
                    len(starred[0][2]) if starred else 0)
    if len(_BINDINGS) >= _MAX_BINDINGS:
        _BINDINGS.clear()
    _BINDINGS[key] = found
    return found


def _positions(fn, name, leading, npositional, keywords, slots):
    # the function's own parameters, not those of a function it wraps
    # (functools.wraps sets __wrapped__, which inspect would follow)
    signature = inspect.signature(fn, follow_wrapped=False)
    positional = [p.name for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    markers = [object() for _ in range(leading + npositional)]
    named = {k: object() for k in keywords}
    try:
        bound = signature.bind(*markers, **named)
    except TypeError as exc:
        raise errors.UnsupportedCallError(
            f"the call does not fit {name}{signature} ({exc})") from None
    where = {}  # id(marker) -> parameter name, (*args, item), or None
    for param, value in bound.arguments.items():
        kind = signature.parameters[param].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            where.update((id(v), (len(positional), k, value))
                         for k, v in enumerate(value))
        elif kind is inspect.Parameter.VAR_KEYWORD:
            where.update((id(v), None) for v in value.values())
        elif kind is inspect.Parameter.KEYWORD_ONLY:
            where[id(value)] = (param,)  # differentiated by its name
        else:
            where[id(value)] = param
    positions = []
    for slot in slots:
        marker = markers[leading + slot] if isinstance(slot, int) \
            else named[slot]
        param = where.get(id(marker))
        if param is None:
            raise errors.UnsupportedCallError(
                f"a differentiated value is passed to {name} through "
                "**kwargs; s2sad differentiates named parameters and *args: "
                "give it a parameter of its own")
        if isinstance(param, tuple) and len(param) == 1:
            positions.append(param[0])  # keyword-only: its name
        else:
            positions.append(param if isinstance(param, tuple)
                             else positional.index(param))
    return positions


# ---- dispatch at run time (called by generated code) ----
#
# Generated code calls a function known only at run time through the
# functions returned here, which are generated Python too (the callee's
# derivatives, and small adapters binding the call's arguments), so the
# code calling them can itself be differentiated: each further order
# dispatches to the derivatives of these, one level deeper.

def vjp_functions(function, args, keywords, slots, spread=(), owned=False,
                  vector=False):
    """(forward, pull) for a call `function(*args, **kwargs)` in reverse
    mode: `forward` takes the call's own arguments and returns its value
    and residuals; `pull(residuals, value_bar)` returns the cotangents of
    the arguments in `slots`, in order (one per item for a `*xs` slot).

    Args:
        args: the call's positional arguments (read for their number and
            kind, not their values); keywords: the names it passes.
        spread: the positions of arguments written `*xs` at the call site.
        owned: called by `s2sad.vjp` (see `derive.derive`), not from
            generated code.
        vector: `pull` takes k cotangents at once, value_bar with a leading
            axis of directions, and so does each cotangent it returns: the
            backward sweep in vector mode (it is linear in value_bar; a
            custom_vjp's bwd runs once per direction).
    """
    key = _call_key("vjp", function, args, keywords, slots, spread, owned,
                    "python", vector)
    found = _resolved(function, key)
    if found is not None:
        return found[0]
    if recomputed(function) is not None:  # its own, recomputed
        checkpointed = recomputed(function)
        fn = checkpointed.fn
        if checkpointed.save == "products":
            fn = derive.saving_products(fn)
        forward, pull = vjp_functions(fn, args, keywords, slots, spread,
                                      owned, vector)
        keep, again = _recomputation(tuple(keywords), checkpointed.save)
        return (functools.partial(keep, forward),
                functools.partial(again, forward, pull))
    fn, leading, bound = callee(function)
    flat = _Flat(args, slots, spread, function, leading)
    keywords = tuple(bound) + tuple(k for k in keywords if k not in bound)
    binding = bind(fn, len(leading), len(flat.args), keywords, flat.slots)
    if isinstance(fn, CustomVJP):
        _check_custom(fn, "fwd")
        _check_nondiff(fn, binding.argnums)
        forward = _bound(fn.fwd, flat.fixed(leading), bound)
        pull = functools.partial(
            _adapter("pull", fn, len(leading) + len(flat.args), binding,
                     flat, vector=vector), fn.bwd)
        return forward, pull
    generated = derive.derive(_as_function(fn, len(leading) + len(flat.args),
                                           keywords),
                              binding.argnums, mode="vjp", owned=owned)
    pull = functools.partial(_adapter("pull", None, None, binding, flat),
                             generated.backward)
    if vector:
        batched = batched_backward(generated)
        pull = functools.partial(_linear_pull, None if batched is None else
                                 functools.partial(_adapter(
                                     "pull", None, None, binding, flat,
                                     vector=True), batched), pull)
    fixed = flat.fixed(leading)
    _remember(function, key, fn, len(fixed), bound, generated,
              generated, pull)
    return _bound(generated, fixed, bound), pull


# ---- the derivative functions of a call, resolved once per kind of call ----
#
# Resolving a call (the callee, the binding of its arguments, the cached
# transformation, the adapter) costs tens of microseconds, more than the
# derivative of a small function; `s2sad.jvp`, `vjp`, `jacfwd`, `jacrev`
# and `hessian` resolve one on each call. The resolution for a plain
# function, or for a Derivative (`grad(f)`, a Hessian's rows), is kept per
# kind of call (`_call_key`), and used while the function has the code and
# defaults it was made for and the generated code's guard says it is fresh
# (what it resolved: helpers, globals' kinds, closure cells, the rule
# registry); for a Derivative, while it computes with the same generated
# code. What is kept holds the function weakly and goes when it does (a
# closure, with what it binds, when the user drops it), the function
# itself is left untouched (it pickles as before), and at most
# MAX_KEPT are kept, the least recently used dropped, as `derive.derive`
# keeps its transformations.

MAX_KEPT = 512
_KEPT = collections.OrderedDict()  # (id(function), key) -> _Kept
_HELD = {}  # id(function) -> (a weak reference to it, its keys in _KEPT)
_KEPT_LOCK = threading.RLock()  # (a function's death drops its entries,
# on whichever thread it dies, maybe in the middle of another change)
_GENERATION = [0]  # cleared with `clear_cache`: entries of an older one go


class _Kept:
    """A resolved call, and what says it is still the one to use: `core`,
    the derivative function (or adapter) before the call's first `nfixed`
    leading arguments and its `keywords` are bound, and a vjp's `pull`."""

    __slots__ = ("ref", "core", "pull", "nfixed", "keywords", "fn", "code",
                 "defaults", "kwdefaults", "fresh", "current", "closure")

    def __init__(self, ref, core, pull, nfixed, keywords, fn, generated,
                 current, closure):
        self.ref, self.core, self.pull = ref, core, pull
        self.nfixed, self.keywords = nfixed, keywords
        self.fn = fn if current is not None or closure is not None else None
        self.code = fn.__code__
        self.defaults, self.kwdefaults = fn.__defaults__, fn.__kwdefaults__
        self.fresh = generated.__s2sad_fresh__
        self.current = current  # a Derivative's `__s2sad_current__`
        self.closure = closure  # a runtime.closure's values, bound

    def fn_of(self, anchor):
        return anchor if self.fn is None else self.fn

    def is_fresh(self, function, anchor):
        if self.ref() is not anchor:  # (another object, at the same id)
            return False
        fn = anchor
        if self.current is not None:
            fn = self.fn
            if self.current(function) is not fn:  # (refreshed: new code)
                return False
        elif self.closure is not None:
            fn = self.fn
            if _closure_of(function) is not self.closure:
                return False
        return fn.__code__ is self.code and \
            fn.__defaults__ is self.defaults and \
            fn.__kwdefaults__ is self.kwdefaults and self.fresh()

    def resolved(self, function):
        """The derivative functions for a call of `function`: `core` with
        its leading arguments (a closure's values, a method's object)."""
        found = self.core
        if self.nfixed or self.keywords:
            found = functools.partial(
                found, *_leading_of(function)[:self.nfixed], **self.keywords)
        return found if self.pull is None else (found, self.pull)


def _anchor(function):
    """What a call's kept resolution is held by: a method's function (its
    object is bound anew at each use: `self.step` is a new object each time
    it is read), else the callable itself."""
    if function.__class__ is types.MethodType:
        return function.__func__
    return function


def _leading_of(function):
    """The leading arguments `callee` gives for a kept kind of callable."""
    if function.__class__ is types.MethodType:
        return (function.__self__,)
    closure = _closure_of(function)
    return () if closure is None else closure.args


def _call_key(kind, function, args, keywords, slots, spread, owned, backend,
              vector):
    """What a resolved call depends on besides what `_Kept` checks: the
    kind of call, and which arguments (and which values a closure or method
    binds) can carry a derivative (the adapter binds only those); None for
    a call that is not kept (a callable that is neither a plain function,
    a nested function s2sad made, a method of a user's function nor a
    Derivative; `*xs` arguments; a compiled backend)."""
    if spread or backend != "python":
        return None
    cls = function.__class__
    if cls is types.FunctionType:
        if getattr(_closure_of(function), "keywords", None):
            return None
    elif cls is types.MethodType:
        if function.__func__.__class__ is not types.FunctionType:
            return None
    elif getattr(cls, "__s2sad_current__", None) is None:
        return None
    return (kind, tuple(keywords), tuple(slots), owned, vector,
            _GENERATION[0], tuple(map(differentiable, args)),
            tuple(map(differentiable, _leading_of(function))))


def _resolved(function, key):
    """(the derivative functions kept for a call of `function` of kind
    `key`, the function they differentiate) if they are fresh; else
    None."""
    if key is None:
        return None
    anchor = _anchor(function)
    entry = (id(anchor), key)
    found = _KEPT.get(entry)
    if found is None or not found.is_fresh(function, anchor):
        return None
    try:
        _KEPT.move_to_end(entry)
    except KeyError:  # (dropped meanwhile)
        pass
    return found.resolved(function), found.fn_of(anchor)


def _remember(function, key, fn, nfixed, keywords, generated, core,
              pull=None):
    """Keep `core` (and a vjp's `pull`), made from `fn`'s `generated` code,
    for calls of `function` of kind `key`, which bind `nfixed` leading
    arguments and `keywords` to core: when fn is the function itself, a
    method's function, the definition of a nested function s2sad made, or
    the code a Derivative computes with now."""
    if key is None or getattr(generated, "__s2sad_fresh__", None) is None:
        return
    anchor = _anchor(function)
    closure = _closure_of(function)
    if closure is not None and closure.func is not fn:
        closure = None
    current = None
    if fn is not anchor and closure is None:
        current = getattr(function.__class__, "__s2sad_current__", None)
        if current is None or current(function) is not fn:
            return
    ident = id(anchor)
    with _KEPT_LOCK:
        held = _HELD.get(ident)
        if held is None or held[0]() is not anchor:
            _forget(ident)  # (a dead object's at this id, not called back)
            held = _HELD[ident] = (weakref.ref(anchor, functools.partial(
                _forget, ident)), set())
        ref, keys = held
        _KEPT[(ident, key)] = _Kept(ref, core, pull, nfixed, dict(keywords),
                                    fn, generated, current, closure)
        _KEPT.move_to_end((ident, key))
        keys.add(key)
        while len(_KEPT) > MAX_KEPT:
            (old, old_key), _ = _KEPT.popitem(last=False)
            _HELD.get(old, (None, set()))[1].discard(old_key)


def _forget(ident, ref=None):
    """Drop what is kept for the function at `ident` (`ref`: its weak
    reference, calling back as the function goes)."""
    with _KEPT_LOCK:
        held = _HELD.get(ident)
        if held is None or ref is not None and held[0] is not ref:
            return  # (a later function at this id keeps its own)
        del _HELD[ident]
        for key in held[1]:
            _KEPT.pop((ident, key), None)


def batched_backward(generated):
    """The vector mode of a vjp's backward sweep, which is linear in its
    last parameter, the value's cotangent: `batched_vjp_bwd_f`; None where
    the sweep (or a callee's it calls by name) runs a gradient hook, code
    of the user's that may not be linear (a clip). Kept on the vjp's
    generated function, whose guard covers the backward sweep's code and
    what it reads."""
    found = getattr(generated, "batched_backward", False)
    if found is False:
        backward = generated.backward
        found = generated.batched_backward = None if \
            reverse.HOOK_COMMENT in derive.source_of(generated) else \
            derive.derive(backward, (backward.__code__.co_argcount - 1,),
                          mode="linear")
    return found


class NotLinear(Exception):
    """A backward sweep run in vector mode reached code of the user's (a
    custom_vjp's bwd, a gradient hook), which need not be linear in the
    cotangent: vector mode would linearise it where each cotangent must
    go through it (see `_linear_pull`)."""


_SWEEPS = threading.local()  # .depth: the batched backward sweeps running


def _linear_pull(batched, pull, residuals, value_bar):
    """`pull` (a backward sweep) of each of k cotangents `value_bar` (a
    leading axis of directions): `batched`, the sweep's vector mode, where
    the sweep is linear in its cotangent, as s2sad's adjoints are; one
    sweep per cotangent where it runs code of the user's (`NotLinear`), or
    batched is None."""
    if batched is not None:
        depth = getattr(_SWEEPS, "depth", 0)
        _SWEEPS.depth = depth + 1
        try:
            return batched(residuals, value_bar)
        except NotLinear:
            pass
        finally:
            _SWEEPS.depth = depth
    return runtime.per_direction(lambda bar: pull(residuals, bar), value_bar)


_USERS = {}  # code -> does it run code of the user's in a backward sweep?


def _check_linear(fn):
    """Raise NotLinear where a batched backward sweep is about to take the
    vector mode of `fn`, a function it calls, that is not s2sad's
    generated code or runs a gradient hook."""
    code = getattr(fn, "__code__", None)
    found = _USERS.get(code)
    if found is None:
        filename = getattr(code, "co_filename", "")
        found = _USERS[code] = not errors.in_memory(filename) or any(
            reverse.HOOK_COMMENT in line
            for line in linecache.getlines(filename))
    if found:
        raise NotLinear(getattr(fn, "__qualname__", repr(fn)))


def jvp_function(function, args, keywords, slots, spread=(), owned=False,
                 backend="python", fallback="raise", vector=False):
    """The function computing a call `function(*args, **kwargs)` and its
    tangent: it takes the call's own arguments, then one tangent per slot
    (a sequence, one per item, for a `*xs` slot), then the call's keywords,
    and returns (value, tangent). (`backend`, `fallback`: see
    `derive.derive`; `vector`: the tangents carry a leading axis of
    directions, as `forward.transform` says.)"""
    key = _call_key("jvp", function, args, keywords, slots, spread, owned,
                    backend, vector)
    found = _resolved(function, key)
    if found is not None:
        if vector and getattr(_SWEEPS, "depth", 0):
            _check_linear(found[1])
        return found[0]
    if recomputed(function) is not None:  # (only reverse recomputes)
        return jvp_function(recomputed(function).fn, args, keywords, slots,
                            spread, owned, backend, fallback, vector)
    fn, leading, bound = callee(function)
    if vector and getattr(_SWEEPS, "depth", 0):
        _check_linear(fn)
    flat = _Flat(args, slots, spread, function, leading)
    keywords = tuple(bound) + tuple(k for k in keywords if k not in bound)
    binding = bind(fn, len(leading), len(flat.args), keywords, flat.slots)
    nargs = len(leading) + len(flat.args)
    if isinstance(fn, CustomVJP):
        _check_custom(fn, "jvp")
        adapter = _adapter("custom_jvp", fn, nargs, binding, flat, keywords,
                           args=leading + flat.args, vector=vector)
        return _bound(functools.partial(adapter, fn.jvp), flat.fixed(leading),
                      bound)
    generated = derive.derive(_as_function(fn, nargs, keywords),
                              binding.argnums,
                              mode="vector" if vector else "forward",
                              owned=owned, backend=backend, fallback=fallback)
    adapter = _adapter("jvp", generated.tangent_names, nargs, binding, flat,
                       keywords, args=leading + flat.args, vector=vector)
    core = functools.partial(adapter, generated)
    fixed = flat.fixed(leading)
    found = _bound(core, fixed, bound)
    _remember(function, key, fn, len(fixed), bound, generated, core)
    return found


def vector_jvp_function(function, args, keywords, slots, spread=()):
    """`jvp_function` of vector mode: its tangents, and its result's,
    carry a leading axis of directions."""
    return jvp_function(function, args, keywords, slots, spread, vector=True)


def vjp(function, args, kwargs, slots, spread=(), owned=False,
        vector=False):
    """`function(*args, **kwargs)` and its pullback: a function from the
    value's cotangent to the cotangents of the arguments in `slots`
    (`vector`: k cotangents at once, as `vjp_functions` says)."""
    forward, pull = vjp_functions(function, args, tuple(kwargs), slots,
                                  spread, owned, vector)
    value, residuals = forward(*_spread(args, spread), **kwargs)
    return value, functools.partial(pull, residuals)


def jvp(function, args, kwargs, tangents, spread=(), owned=False,
        backend="python", fallback="raise", vector=False):
    """`function(*args, **kwargs)` and its tangent along `tangents`, a dict
    slot -> tangent of that argument (one per item for a `*xs` slot);
    `vector`: each tangent has a leading axis of directions."""
    fn = jvp_function(function, args, tuple(kwargs), tuple(tangents), spread,
                      owned, backend, fallback, vector)
    return fn(*_spread(args, spread), *tangents.values(), **kwargs)


def _spread(args, spread):
    out = []
    for i, arg in enumerate(args):
        out += list(arg) if i in spread else [arg]
    return out


def _bound(fn, leading, keywords):
    """`fn` with a call's leading arguments and keywords bound."""
    if leading or keywords:
        return functools.partial(fn, *leading, **keywords)
    return fn


def _custom_params(fn):
    try:
        return tuple(inspect.signature(fn.fn).parameters)
    except (TypeError, ValueError):
        return ()


def check_cotangents(cotangents, nargs, name):
    """A custom_vjp's bwd must give one cotangent per positional argument."""
    if len(cotangents) < nargs:
        raise errors.UnsupportedCallError(
            f"the bwd rule of {name} returned {len(cotangents)} cotangents "
            f"for {nargs} arguments; return one per positional argument "
            "(None for those without)")


_ADAPTERS = {}


def _recomputation(keywords, save="nothing"):
    """The forward and pull functions of a call to `s2sad.checkpoint(fn)`
    passing `keywords`, given fn's own: going forward, keep the call's
    arguments (not fn's residuals); going back, run fn's forward sweep
    again from them, then its pull. With save="products", the forward
    sweep keeps the products fn computes (recorded), and the one run again
    is given them (replayed). Generated, as `_adapter`'s, so that they are
    differentiated again for higher orders (no `**` of differentiated
    values)."""
    key = ("recompute", keywords, save)
    found = _ADAPTERS.get(key)
    if found is not None:
        return found
    prefix = "_"
    while any(k.startswith(prefix) for k in keywords):
        prefix += "_"
    given = "".join(f", {k}={k}" for k in keywords)
    kept = "".join(f"{k}, " for k in keywords)
    star = "".join(f", {k}" for k in keywords)
    p = prefix
    run = f"{p}value, {p}residuals = {p}forward(*{p}args{given})\n"
    held = ""
    keep = recompute = f"    {run}"
    if save == "products":  # (recorded, replayed; stopped whatever happens)
        held = f", {p}products"
        keep, recompute = (
            f"    {p}products = runtime.{start}\n"
            f"    try:\n        {run}"
            f"    finally:\n        runtime.stop_products({p}products)\n"
            for start in ("record_products()",
                          f"replay_products({p}products)"))
    text = (
        f"def keep_arguments({p}forward, *{p}args{star}):\n"
        f"{keep}"
        f"    return {p}value, ({p}args, ({kept}), {p}value{held})"
        f"\n\n\n"
        f"def recompute({p}forward, {p}pull, {p}saved, {p}value_bar):\n"
        f"    {p}args, ({kept}), {p}before{held} = {p}saved\n"
        f"{recompute}"
        f"    runtime.recomputed({p}before, {p}value)\n"
        f"    return {p}pull({p}residuals, {p}value_bar)\n")
    filename = f"<s2sad:recompute_call:{len(_ADAPTERS)}>"
    errors.register_source(filename, text)
    namespace = {"runtime": runtime}
    exec(compile(text, filename, "exec"), namespace)
    found = _ADAPTERS[key] = (namespace["keep_arguments"],
                              namespace["recompute"])
    return found


def _adapter(kind, fn, nargs, binding, flat, keywords=(), args=(),
             vector=False):
    """A small generated function binding one shape of call to a derivative
    (cached by that shape), readable in tracebacks and differentiable:

    - "pull": `(backward, residuals, value_bar)` -> per-slot cotangents from
      the callee's backward sweep (or a custom_vjp's bwd, when `fn` is it;
      `vector`: the backward sweep's vector mode, `batched_...`);
    - "jvp": `(jvp, args..., tangents..., keywords...)` -> (value, tangent),
      `fn` being the jvp function's tangent names;
    - "custom_jvp": the same for a custom_vjp's `jvp(primals, tangents)`.

    `vector`: the tangents (cotangents) carry a leading axis of directions
    (vector mode); a custom_vjp's jvp (bwd) then runs once per direction.
    """
    differentiable_args = tuple(map(differentiable, args))
    key = (kind, tuple(fn) if kind == "jvp" else
           (None if fn is None else (nargs, _custom_params(fn))),
           tuple(binding.argnums),
           tuple(binding.order), binding.nitems, repr(flat.groups),
           tuple(keywords), len(flat.groups), differentiable_args, vector)
    found = _ADAPTERS.get(key)
    if found is not None:
        return found
    if kind == "pull":
        text = _pull_text(fn, nargs, binding, flat, vector)
    else:
        text = _jvp_text(kind, fn, binding, flat, keywords, args, vector)
    filename = f"<s2sad:{kind}_call:{len(_ADAPTERS)}>"
    errors.register_source(filename, text)
    namespace = {"runtime": runtime, "calls": __import__(__name__,
                                                          fromlist=["_"])}
    exec(compile(text, filename, "exec"), namespace)
    found = _ADAPTERS[key] = namespace[f"{kind}_call"]
    return found


def _picks(binding, cotangent):
    """Expressions of the callee's cotangents (one per parameter, read by
    `cotangent(i)`) in the order of the call's differentiated slots."""
    return [cotangent(i) if isinstance(i, int)
            else f"{cotangent(i[0])}[{i[1]}]" for i in binding.order]


def _regroup(flat, values):
    """Per-slot expressions from per-position ones (a sequence per `*xs`)."""
    values = iter(values)
    out = []
    for group in flat.groups:
        if isinstance(group, list):
            items = ", ".join("0.0" if p is None else next(values)
                              for p in group)
            out.append(f"runtime.sequence([{items}])")
        else:
            out.append(next(values))
    return out


def _pull_text(custom, nargs, binding, flat, vector=False):
    if custom is None:
        # in vector mode, the sweep's values read only for their shapes:
        # those of its first direction's
        call = "backward(*residuals, runtime.first_direction(value_bar), " \
            "value_bar)" if vector else "backward(*residuals, value_bar)"
        check = ""
        picks = _picks(binding, lambda i: f"cotangents[{i}]")
    else:
        call = "runtime.per_direction(lambda bar: backward(residuals, " \
            "bar), value_bar)" if vector else "backward(residuals, value_bar)"
        check = (f"    calls.check_cotangents(cotangents, {nargs}, "
                 f"{custom.__name__!r})\n")
        picks = _picks(binding,
                       lambda i: f"cotangents[{binding.argnums[i]}]")
    slots = _regroup(flat, picks)
    return (f"def pull_call(backward, residuals, value_bar):\n"
            f"    cotangents = {call}\n{check}"
            f"    return ({''.join(s + ', ' for s in slots)})\n")


def _jvp_text(kind, tangent_names, binding, flat, keywords, args,
              vector=False):
    """The adapter calling a jvp function: arguments `a0...`, the slots'
    tangents `t0...`, then the call's keywords by name."""
    zero = "runtime.zero_directions" if vector else "runtime.zero_tangent"
    prefix = "_"
    while any(k.startswith(prefix) for k in keywords):
        prefix += "_"
    params = [f"{prefix}a{i}" for i in range(len(args))]
    slot_tangents = [f"{prefix}t{i}" for i in range(len(flat.groups))]
    per_position = []  # the tangent of each differentiated position
    for group, tangent in zip(flat.groups, slot_tangents):
        if isinstance(group, list):
            per_position += [f"{tangent}[{k}]" for k, p in enumerate(group)
                             if p is not None]
        else:
            per_position.append(tangent)
    by_param = [None] * len(binding.argnums)
    starts = len(args) - binding.nitems
    for tangent, i in zip(per_position, binding.order):
        if isinstance(i, tuple):
            i, item = i
            if by_param[i] is None:
                by_param[i] = [f"{zero}({params[starts + k]})"
                               for k in range(binding.nitems)]
            by_param[i][item] = tangent
        else:
            by_param[i] = tangent if by_param[i] is None \
                else f"{by_param[i]} + {tangent}"
    by_param = [f"({', '.join(t)},)" if isinstance(t, list) else t
                for t in by_param]
    signature = ", ".join([f"{prefix}jvp"] + params + slot_tangents
                          + list(keywords))
    passed = ", ".join(f"{k}={k}" for k in keywords)
    if kind == "jvp":
        tangents = ", ".join(f"{name}={t}" for name, t in
                             zip(tangent_names, by_param))
        call = ", ".join(p for p in (", ".join(params), passed, tangents)
                         if p)
        body = f"return {prefix}jvp({call})"
    else:  # a custom_vjp's jvp(primals, tangents): positional, None if none
        primals = params + [None] * len(keywords)
        for k in keywords:  # keywords go to their parameters' positions
            primals[_custom_params(tangent_names).index(k)] = k
        full = ["None" if not d else f"{zero}({p})"
                for p, d in zip(params, map(differentiable, args))]
        full += [f"{zero}({k})" for k in keywords]
        for position, tangent in zip(binding.argnums, by_param):
            full[position] = tangent
        call = (f"({''.join(p + ', ' for p in primals)}), "
                f"({''.join(t + ', ' for t in full)})")
        body = f"return runtime.jvp_per_direction({prefix}jvp, {call})" \
            if vector else f"return {prefix}jvp({call})"
    return f"def {kind}_call({signature}):\n    {body}\n"


class _Flat:
    """A call's arguments with its `*xs` spread, and the way back: the
    differentiated slots become positions in the spread arguments (only the
    items that hold numbers: a spread tuple may also carry flags and
    functions), and their cotangents are grouped again per slot."""

    def __init__(self, args, slots, spread, function=None, leading=()):
        flat, where = [], {}
        if FUNCTION in slots:  # a closure: the arguments it binds, which
            # come last among the leading ones, as slots before the call's own
            bound = len(runtime.bound(function))
            where[FUNCTION] = [k - len(leading) if differentiable(leading[k])
                               else None for k in range(len(leading) - bound,
                                                        len(leading))]
        for i, arg in enumerate(args):
            if i in spread:
                where[i] = list(range(len(flat), len(flat) + len(arg)))
                flat.extend(arg)
            else:
                where[i] = len(flat)
                flat.append(arg)
        self.args = tuple(flat)
        self.groups, self.slots = [], []
        for slot in slots:
            if slot == FUNCTION:
                group = where[slot]
                self.slots += [p for p in group if p is not None]
            elif isinstance(slot, int) and slot in spread:
                group = [p if differentiable(flat[p]) else None
                         for p in where[slot]]
                self.slots += [p for p in group if p is not None]
            else:
                group = where[slot] if isinstance(slot, int) else slot
                self.slots.append(group)
            self.groups.append(group)
        self.groups_by_slot = dict(zip(slots, self.groups))

    def fixed(self, leading):
        """The leading arguments the derivative functions bind: all but a
        differentiated closure's values, which the call passes them
        (`runtime.bound`)."""
        if FUNCTION not in self.groups_by_slot:
            return leading
        return leading[:len(leading) - len(self.groups_by_slot[FUNCTION])]

    def regroup(self, values):
        """Per-slot values from per-position ones (a sequence per `*xs`)."""
        values = iter(values)
        return tuple(
            runtime.sequence([0.0 if p is None else next(values) for p in g])
            if isinstance(g, list) else next(values) for g in self.groups)

    def spread_tangents(self, tangents):
        """Per-position tangents from per-slot ones."""
        out = []
        for group, tangent in zip(self.groups, tangents):
            if isinstance(group, list):
                out += [t for p, t in zip(group, tangent) if p is not None]
            else:
                out.append(tangent)
        return out


def differentiable(value):
    """Can a value carry a derivative (not a flag, a count, a range of
    counts, a string, an integer array or a function, unless it binds
    differentiable values)?"""
    cls = value.__class__
    if cls is float or cls is numpy.float64 or cls is numpy.ndarray and \
            value.dtype.kind in "fc":
        return True  # (the common cases, at once)
    if isinstance(value, functools.partial) or getattr(
            value, "__s2sad_closure__", None) is not None:
        return any(map(differentiable, runtime.bound(value)))
    if isinstance(value, (bool, int, numpy.integer, numpy.bool_, range, str,
                          bytes, slice)) or \
            value is None or callable(value):
        return False
    if isinstance(value, numpy.ndarray):
        return value.dtype.kind in "fc" or (
            value.dtype == object and any(map(differentiable, value.flat)))
    if isinstance(value, (list, tuple)):  # a pytree: if any leaf is
        return any(map(differentiable, value))
    if isinstance(value, dict):
        return any(map(differentiable, value.values()))
    names = runtime.fields(value)  # (a namedtuple's, a dataclass's)
    if names is not None:
        return any(differentiable(getattr(value, n)) for n in names)
    dtype = getattr(value, "dtype", None)  # (NumPy's numbers, other arrays)
    if dtype is not None:
        return getattr(dtype, "kind", "f") in "fc"
    # a complex number; but not any other object (a model, a config: s2sad
    # does not differentiate its attributes), which a method binds
    return isinstance(value, complex)


def _check_custom(fn, part):
    if getattr(fn, part) is None:
        how = "defvjp(fwd, bwd)" if part == "fwd" else "defjvp(jvp)"
        mode = "reverse" if part == "fwd" else "forward"
        exc = errors.UnsupportedCallError(
            f"{fn.__name__} has no {mode}-mode derivative; give it one with "
            f"{fn.__name__}.{how}")
        exc.missing_mode = mode  # (s2sad.jacobian takes the other mode)
        raise exc


def _check_nondiff(fn, argnums):
    """A custom_vjp's bwd gives no cotangent for its nondiff_argnums: they
    are not differentiated (as in JAX), rather than given a wrong one."""
    held = sorted(set(argnums) & set(getattr(fn, "nondiff_argnums", ())))
    if held:
        raise errors.UnsupportedCallError(
            f"{fn.__name__} is differentiated with respect to its argument "
            f"{held[0]}, which its custom_vjp lists in nondiff_argnums; "
            "leave it out of nondiff_argnums (and give bwd a cotangent for "
            "it) or do not differentiate with respect to it")


_WRAPPERS = {}


def _as_function(fn, nargs, kwargs):
    """A Python function for a callable with a rule (np.sin passed as a
    value), so it can be differentiated like the user's functions."""
    if inspect.isfunction(fn) and registry.lookup(fn) is None:
        return fn
    if kwargs:
        raise errors.UnsupportedCallError(
            f"{getattr(fn, '__name__', fn)!r} passed as a value is called with "
            "keywords; pass its arguments positionally")
    key = (fn, nargs)
    if key not in _WRAPPERS:
        name = getattr(fn, "__name__", "function")
        if not name.isidentifier() or hasattr(builtins, f"call_{name}"):
            name = "function"
        params = ", ".join(f"x{i}" for i in range(nargs))
        text = (f"def call_{name}({params}):\n"
                f"    return {name}({params})\n")
        filename = f"<s2sad:call_{name}:{nargs}>"
        errors.register_source(filename, text)
        namespace = {name: fn}
        exec(compile(text, filename, "exec"), namespace)
        _WRAPPERS[key] = namespace[f"call_{name}"]
    return _WRAPPERS[key]


def _values_in(forward, values, depth=0):
    """Where `forward`, the forward function `vjp_functions` gave for a
    call of a function, binds that function's `values` (`runtime.bound`):
    a path of steps, ("in", i) into its i-th bound value (a function, as
    a checkpoint's forward function holds the callee's) and last ("at",
    o), the offset of the run of values; None where it binds none."""
    held, n = runtime.bound(forward), len(values)
    for o in range(len(held) - n + 1):
        if all(held[o + i] is values[i] for i in range(n)):
            return [("at", o)]
    if depth < 4:
        for i, item in enumerate(held):
            if callable(item):
                inner = _values_in(item, values, depth + 1)
                if inner is not None:
                    return [("in", i)] + inner
    return None


def _path(slots, forward, function, required):
    """`_values_in` for a call: None where the call passes the function's
    values itself (FUNCTION in `slots`) or it binds none; refused where
    forward (`required`) binds them out of s2sad's sight, rather than
    given a zero."""
    values = runtime.bound(function)
    if FUNCTION in slots or not values:
        return None
    path = _values_in(forward, values)
    if path is None and required and any(map(differentiable, values)):
        raise errors.UnsupportedCallError(
            f"s2sad cannot follow the values {name_of(function)} binds into "
            "the derivative of its call here; pass them to it as arguments")
    return path


def _zero_of(t, value, directions):
    """A zero tangent (or, where `t` is a cotangent, an object array) of
    `value`."""
    if t.__class__ is numpy.ndarray and t.dtype == object:
        return runtime.zeros_like(value)
    return runtime.zero_directions(value) if directions else \
        runtime.zero_tangent(value)


def to_forward(t, slots, forward, function, directions=False,
               required=True):
    """The tangent (or cotangent) `t` of a function's values (one per
    value) as that of the forward function of a call of it, which binds
    them (see the rules of vjp_functions in s2sad/rules/transforms.py): t
    where forward binds them, zeros for the rest of what it binds.
    (`directions`: zeros of vector mode; not `required`: of the pull
    function, which binds them only where it recomputes the call, as a
    checkpoint's does, and a zero otherwise.)"""
    path = _path(slots, forward, function, required)
    if path is None or not _is_items(t):
        return _zero_of(t, forward, directions)
    return _placed(t, forward, path, directions)


def _placed(t, owner, path, directions):
    held = runtime.bound(owner)
    items = [_zero_of(t, item, directions) for item in held]
    kind, at = path[0]
    if kind == "in":
        items[at] = _placed(t, held[at], path[1:], directions)
    else:
        items[at:at + len(t)] = list(t)
    return runtime.sequence(items) if t.__class__ is numpy.ndarray \
        else tuple(items)


def to_function(t, slots, forward, function, directions=False,
                required=True):
    """`to_forward`'s transpose: forward's cotangent (or tangent) as the
    function's, its values' part of it."""
    path = _path(slots, forward, function, required)
    if path is None or not _is_items(t):
        return _zero_of(t, function, directions)
    n = len(runtime.bound(function))
    for kind, at in path:
        if not _is_items(t):
            return _zero_of(t, function, directions)
        t = t[at] if kind == "in" else t[at:at + n]
    return runtime.sequence(list(t)) if t.__class__ is numpy.ndarray \
        else tuple(t)


def _is_items(t):
    """Is `t` the tangent of a function's values, one item per value (not
    a zero number standing for all)?"""
    return isinstance(t, tuple) or t.__class__ is numpy.ndarray and \
        t.dtype == object


# what generated code calls to find derivative functions: no derivative
# (vjp_functions's results bind the function's values: its rules are in
# s2sad/rules/transforms.py)
registry.non_differentiable(jvp_function, check_cotangents)
registry.linear(to_forward, transpose=to_function)

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
import inspect
import sys

import numpy as np

from s2sad import calls, derive, errors, frontend, runtime, ssa

stats = derive.stats  # counted for tests of the cache
clear_cache = derive.clear_cache


def _located(function):
    """An entry point of the API: an exception leaving it is pointed at
    the user's code it passed through (`errors.locate`)."""
    @functools.wraps(function)
    def entry(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            errors.locate(exc)
            raise
    return entry


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
    def __init__(self, f, argnums=0, has_aux=False, with_value=False,
                 optimize=True):
        self.fun = self._f = f
        self._options = (argnums, has_aux, with_value, optimize)
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            value = getattr(f, name, None)
            if isinstance(value, str):
                setattr(self, name, value)
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
    __slots__ = ("_fresh", "_target", "_instance", "_current", "_f",
                 "_options", "fun", "__dict__", "__weakref__")

    def __call__(self, *args, **kwargs):
        try:
            if self._fresh():
                return self._target(*args, **kwargs)
            return self._call_stale(*args, **kwargs)
        except errors.OneElementOutput:
            return self._one_element(args, kwargs)
        except Exception as exc:
            errors.locate(exc)
            raise

    @_located
    def _one_element(self, args, kwargs):
        """The gradient of an output of one element (shape (1,) or (1, 1)),
        as autograd gives it: the vjp with a cotangent of ones."""
        argnums, has_aux, with_value, _ = self._options
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
        return self._target(*args, **kwargs)

    def _refresh(self):
        self._instance, self._current, self._fresh = _derived(
            self._f, self._options[0], None, **self._derive_options())
        target = self._current
        if calls.has_rule(self._f):  # np.tanh: a wrapper per arity
            target = functools.partial(_by_arity, self._f, self._options[0],
                                       self._derive_options())
        self._target = target

    def _derive_options(self):
        _, has_aux, with_value, optimize = self._options
        return dict(has_aux=has_aux, with_value=with_value,
                    optimize_code=optimize, mode="reverse")

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
        return self._fresh_instance().source

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

    def __reduce__(self):
        # the decorated function is the module's attribute: by name
        found = sys.modules.get(getattr(self, "__module__", None))
        for part in getattr(self, "__qualname__", "<>").split("."):
            found = getattr(found, part, None)
        if found is self:
            return self.__qualname__
        return (_rebuild, (self._f,) + self._options)


def _stale():
    return False


def _by_arity(f, argnums, options, *args, **kwargs):
    """Call the derivative of a function known by its rule (np.tanh), made
    for the number of arguments given."""
    return _derived(f, argnums, len(args), **options)[1](*args, **kwargs)


def _rebuild(f, argnums, has_aux, with_value, optimize):
    """A Derivative made again from its function (unpickling)."""
    return Derivative(f, argnums, has_aux, with_value, optimize)


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


def _pick(target, items, single, has_aux, with_value, *args, **kwargs):
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


def _decorator(with_value):
    def transform(f=None, argnums=0, *, has_aux=False, optimize=True):
        if isinstance(argnums, list):
            argnums = tuple(argnums)
        if f is None:  # @grad(argnums=...)
            return functools.partial(transform, argnums=argnums,
                                     has_aux=has_aux, optimize=optimize)
        return Derivative(f, argnums, has_aux, with_value, optimize)
    return transform


grad = _decorator(with_value=False)
grad.__name__ = grad.__qualname__ = "grad"
grad.__doc__ = """The gradient of a scalar-valued function.

Args:
    f: the function (also usable as `@grad` or `@grad(argnums=...)`): any
        callable with Python source or a derivative rule: a function, a
        bound method, a functools.partial, an object with `__call__`, a
        function wrapped by a decorator, np.tanh.
    argnums: which positional argument(s) to differentiate, counted as the
        callable is called (a bound method's `self` is not counted): an int
        (returns one gradient) or a tuple of ints (returns a tuple).
    has_aux: f returns `(output, aux)`; the result is `(gradient, aux)`.
    optimize: run the optimisation passes (False keeps the code as generated).

Returns:
    A `Derivative`: call it with f's arguments. `.source` is its code and
    `.ssa` the SSA form of f it was generated from. It follows changes to
    the code it was built on (see `Derivative`).
"""

value_and_grad = _decorator(with_value=True)
value_and_grad.__name__ = value_and_grad.__qualname__ = "value_and_grad"
value_and_grad.__doc__ = """Like `grad`, but returns `(value, gradient)`."""


@_located
def show(f, mode="reverse", stage="grad", argnums=0, optimize=True):
    """The source s2sad generates for `f`, as a string.

    Args:
        mode: "reverse" for the gradient, "forward" for the JVP function.
        stage: "ssa" for the lowered form, "grad" for the generated code.
    """
    if stage == "ssa":
        return ssa.to_source(ssa.lower(frontend.parse(calls.target(f)[0])))
    if stage != "grad":
        raise errors.S2SADError(f"unknown stage {stage!r}; use 'ssa' or 'grad'")
    return generated_function(f, mode, argnums, optimize).source


def generated_function(f, mode="reverse", argnums=0, optimize=True):
    """The generated function whose source `show` gives: the gradient
    ("reverse") or JVP function ("forward") of `f`, as the cache holds it
    (`s2sad.aot` writes it into a module)."""
    if mode not in ("reverse", "forward"):
        raise errors.S2SADError(
            f"unknown mode {mode!r}; use 'reverse' or 'forward'")
    if mode == "forward" and isinstance(argnums, int):
        argnums = (argnums,)
    return _derived(f, argnums, None, optimize_code=optimize,
                    mode=mode)[0]


@_located
def jvp(f, primals, tangents):
    """Forward mode: `f(*primals)` and its derivative along `tangents`.

    Args:
        primals: a tuple of all of f's arguments.
        tangents: a tuple of the same length; a tangent of None holds that
            argument constant, and those of integer (and bool) arguments are
            ignored.

    Returns:
        `(f(*primals), J @ tangents)`.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    argnums = _with_tangents(primals, tangents, "jvp")
    if not argnums:
        value = f(*primals)
        return value, runtime.tangents(None, value)
    # the dispatch generated code uses for a call: any callable, *args too
    value, tangent = calls.jvp(f, primals, {},
                               {i: tangents[i] for i in argnums}, owned=True)
    return value, runtime.tangents(tangent, value, (primals, tangents))


@_located
def vjp(f, *primals):
    """Reverse mode for any output: `(f(*primals), vjp_fn)`.

    The forward sweep runs once, here; `vjp_fn(cotangent)` can then be called
    with many cotangents (shaped like the output) and returns one cotangent
    per primal (None for integer primals).
    """
    argnums = tuple(i for i, p in enumerate(primals)
                    if calls.differentiable(p))
    if not argnums:
        return f(*primals), lambda cotangent: (None,) * len(primals)
    value, pullback = calls.vjp(f, primals, {}, argnums, owned=True)

    @_located
    def vjp_fn(cotangent):
        runtime.check_cotangent(cotangent, value, f)
        grads = pullback(runtime.tree_adjoint(cotangent, value))
        grads = iter(runtime.gradients(
            [runtime.tree_like(g, primals[i]) for g, i in zip(grads, argnums)],
            [primals[i] for i in argnums], (cotangent,)))
        return tuple(next(grads) if i in argnums else None
                     for i in range(len(primals)))
    return value, vjp_fn


def jacrev(f, argnums=0):
    """The Jacobian of `f` by reverse mode: one backward sweep per output
    element. Same shapes as `jacfwd`."""
    return _Transformed(_jacrev, f, argnums=argnums)


def _jacrev(f, *args, argnums=0):
    # written as generated code calls functions (calls.vjp_functions), so
    # that a Jacobian taken inside a differentiated function is
    # differentiated too
    positions = (argnums,) if isinstance(argnums, int) else argnums
    # f's own values (a closure's) are passed as generated code passes them
    forward, pull = calls.vjp_functions(f, args, (), (calls.FUNCTION,)
                                        + tuple(positions))
    value, residuals = forward(*runtime.bound(f), *args)
    out_shape = np.shape(value)
    cotangents = []  # per output element, per position
    for idx in np.ndindex(*out_shape):
        basis = np.zeros(out_shape)
        basis[idx] = 1.0
        cotangents.append(pull(residuals, basis if out_shape else 1.0))
    blocks = []
    for k in range(len(positions)):
        in_shape = np.shape(args[positions[k]])
        rows = [np.asarray(c[k + 1], dtype=float) for c in cotangents]
        stacked = np.stack(rows) if rows else np.zeros((0,) + in_shape)
        blocks.append(np.reshape(stacked, out_shape + in_shape))
    return blocks[0] if isinstance(argnums, int) else tuple(blocks)


class _Transformed(functools.partial):
    """What `jacfwd`, `jacrev` and `jacobian` return: their function bound
    to `f` (differentiated again through that function: see
    `calls.callee`), an entry point of the API when called."""

    @_located
    def __call__(self, *args, **kwargs):
        return super().__call__(*args, **kwargs)


class _Jacobian(_Transformed):
    """What `jacobian` returns: records the mode it used last (`.mode`)."""
    mode = None

    def __call__(self, *args, **kwargs):
        self.mode = _jacobian_mode(self.args[0], args, self.keywords[
            "argnums"])
        return super().__call__(*args, **kwargs)


def jacobian(f, argnums=0):
    """The Jacobian of `f`, by forward mode when it has fewer inputs than
    outputs and by reverse mode otherwise (the cheaper one: one pass per
    input or per output). The returned function records the mode it used
    last in its `mode` attribute."""
    return _Jacobian(_jacobian, f, argnums=argnums)


def _jacobian(f, *args, argnums=0):
    if _jacobian_mode(f, args, argnums) == "forward":
        return _jacfwd(f, *args, argnums=argnums)
    return _jacrev(f, *args, argnums=argnums)


def _jacobian_mode(f, args, argnums):
    positions = (argnums,) if isinstance(argnums, int) else argnums
    inputs = sum(np.size(args[i]) for i in positions)
    outputs = np.size(f(*args))
    return "forward" if inputs < outputs else "reverse"


def jacfwd(f, argnums=0):
    """The Jacobian of `f` by forward mode: one JVP per input element.

    Returns a function of f's arguments giving an array of shape
    `f(...).shape + x.shape` for `argnums` an int (a tuple of them for a
    tuple of argnums).
    """
    return _Transformed(_jacfwd, f, argnums=argnums)


def _jacfwd(f, *args, argnums=0):
    # as `_jacrev`, through calls.jvp_function
    positions = (argnums,) if isinstance(argnums, int) else argnums
    jvp_fn = calls.jvp_function(f, args, (), (calls.FUNCTION,)
                                + tuple(positions))
    values = runtime.bound(f)  # a closure's values, held
    held = runtime.bound(runtime.zeros_like(f))
    columns = []
    for i in positions:
        x = np.asarray(args[i], dtype=float)
        zeros = [np.zeros_like(np.asarray(args[j], dtype=float))
                 for j in positions]
        out, block = None, []
        for idx in np.ndindex(*x.shape):
            basis = np.zeros(x.shape)
            basis[idx] = 1.0
            tangents = [_like(args[j], basis) if j == i else zeros[k]
                        for k, j in enumerate(positions)]
            out, column = jvp_fn(*values, *args, held, *tangents)
            block.append(np.asarray(column, dtype=float))
        out_shape = np.shape(out if out is not None else f(*args))
        stacked = np.stack(block, axis=-1) if block else np.zeros(
            out_shape + (0,))
        columns.append(np.reshape(stacked, out_shape + x.shape))
    return columns[0] if isinstance(argnums, int) else tuple(columns)


@_located
def hessian(f, argnums=0):
    """The Hessian of a scalar function, forward over reverse: the forward-
    mode Jacobian of s2sad's gradient (shape `x.shape + x.shape`)."""
    if not isinstance(argnums, int):
        raise errors.S2SADError("hessian takes one argument position "
                                "(argnums=int)")
    return jacfwd(grad(f, argnums=argnums), argnums=argnums)


@_located
def hvp(f, primals, tangents):
    """Hessian-vector product of a scalar function at `primals` along
    `tangents`: the JVP of its gradient (forward over reverse).

    A tangent of None holds that argument constant (data, say); the Hessian
    is taken with respect to the others.

    Returns:
        A tuple with the product for each primal (None where held constant).
    """
    primals, tangents = tuple(primals), tuple(tangents)
    argnums = _with_tangents(primals, tangents, "hvp")
    gradient = grad(f, argnums=argnums)
    _, product = jvp(gradient, primals, tuple(
        t if i in argnums else None for i, t in enumerate(tangents)))
    parts = iter(product)
    return tuple(next(parts) if i in argnums else None
                 for i in range(len(primals)))


def _with_tangents(primals, tangents, what):
    """The positions that get a tangent: floats whose tangent is not None."""
    if len(primals) != len(tangents):
        raise errors.S2SADError(
            f"{what} needs one tangent per primal: got {len(primals)} primals "
            f"and {len(tangents)} tangents")
    return tuple(i for i, (p, t) in enumerate(zip(primals, tangents))
                 if t is not None and calls.differentiable(p))


def check_grads(f, args, argnums=None, modes=("fwd", "rev"), eps=1e-6,
                rtol=1e-6, atol=1e-8, directions=3, seed=0):
    """Check s2sad's derivatives of `f` at `args` against central differences.

    In reverse mode ("rev") every component of the gradient is compared with
    `(f(x + eps e_i) - f(x - eps e_i)) / 2eps`, and, along `directions` random
    unit vectors `v`, `v . grad f` with `(f(x + eps v) - f(x - eps v)) / 2eps`.
    In forward mode ("fwd") `jvp` along the same basis and random directions
    is compared with the same differences. f must return a scalar for "rev".

    Raises:
        AssertionError: with the mismatching values.
    """
    args = list(args)
    if argnums is None:
        argnums = tuple(range(len(args)))
    elif isinstance(argnums, int):
        argnums = (argnums,)
    rng = np.random.default_rng(seed)
    grads = grad(f, argnums=argnums)(*args) if "rev" in modes else None
    for k, i in enumerate(argnums):
        # a tuple, list or dict argument is checked leaf by leaf
        for path, leaf in _leaves(args[i]):
            name = getattr(f, "__name__", None) or repr(f)
            where = f"{name} (arg {i}{''.join(f'[{p!r}]' for p in path)})"
            _check_leaf(f, args, i, path, leaf, modes, eps, rtol, atol, rng,
                        directions, where,
                        None if grads is None else _get(grads[k], path))


def _check_leaf(f, args, i, path, leaf, modes, eps, rtol, atol, rng,
                directions, what, g):
    x = np.asarray(leaf, dtype=float)

    def at(value):
        moved = list(args)
        moved[i] = _put(args[i], path, _like(leaf, value))
        return moved

    def along(v):
        return (np.asarray(f(*at(x + eps * v))) -
                np.asarray(f(*at(x - eps * v)))) / (2 * eps)

    def tangent(v):
        tangents = [None] * len(args)
        tangents[i] = _put(_zeros(args[i]), path, _like(leaf, v))
        return jvp(f, args, tangents)[1]
    basis = [np.eye(x.size)[j].reshape(x.shape) for j in range(x.size)]
    randoms = [v / (np.linalg.norm(v) or 1.0) for v in
               (rng.standard_normal(x.shape) for _ in range(directions))]
    if "rev" in modes:
        g = np.asarray(g)
        numeric = np.array([along(v) for v in basis]).reshape(x.shape)
        _assert_close(g, numeric, rtol, atol, f"reverse d{what}")
        for v in randoms:
            _assert_close(np.sum(g * v), along(v), rtol, atol,
                          f"reverse directional derivative of {what}")
    if "fwd" in modes:
        for v in basis + randoms:
            _assert_close(tangent(v), along(v), rtol, atol,
                          f"forward directional derivative of {what}")


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


def _zeros(tree):
    """Zero tangents in the structure of `tree`."""
    for path, leaf in _leaves(tree):
        tree = _put(tree, path, _like(leaf, np.zeros(np.shape(leaf))))
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

"""The public API: grad, value_and_grad, show, check_grads; and the cache.

    @s2sad.grad(argnums=(0, 1))
    def f(x, y):
        return x ** 2 * y + y + 2

    f(3.0, 4.0)      # (24.0, 10.0)
    print(f.source)  # the generated Python
    print(f.ssa)     # the SSA form it came from

The whole pipeline is `differentiate`: parse, lower to SSA, transform,
optimize, emit. A transformation is cached per (code object, closure cells,
options), so `grad(f)` is cheap after the first call.
"""

import functools
import gc
import inspect

import numpy as np

from s2sad import (
    calls, codegen, errors, forward, frontend, optimize, reverse, runtime,
    ssa)

_CACHE = {}
_UNDER_WAY = set()  # keys of transformations in progress (recursion)
_OPTIMIZING = []  # optimize_code of each transformation in progress
stats = {"transformations": 0}  # counted for tests of the cache


def differentiate(func, argnums=0, has_aux=False, with_value=False,
                  optimize_code=True, mode="reverse"):
    """Run the pipeline on `func`; return the compiled generated function.

    Args:
        mode: "reverse" (a gradient) or "forward" (a Jacobian-vector product
            `jvp_f(*args, *tangents of argnums) -> (value, tangent)`).
    """
    if not hasattr(func, "__code__"):
        frontend.parse(func)  # raises the error that explains why
    func = getattr(func, "__s2sad_general__", func)
    key = _key(func, argnums, has_aux, with_value, optimize_code, mode)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    _check_argnums(func, argnums)
    _UNDER_WAY.add(key)
    _OPTIMIZING.append(optimize_code)
    collecting = gc.isenabled()
    # The passes make and drop many tree nodes and free them by reference
    # counting; the cycle collector would walk every live object again and
    # again, making large functions cost more than linear time.
    gc.disable()
    try:
        compiled = _transform(func, argnums, has_aux, with_value,
                              optimize_code, mode)
    finally:
        _UNDER_WAY.discard(key)
        _OPTIMIZING.pop()
        if collecting:  # the outermost transformation
            gc.enable()
    stats["transformations"] += 1
    _CACHE[key] = compiled
    return compiled


def _key(func, argnums, has_aux=False, with_value=False, optimize_code=True,
         mode="reverse"):
    # A gradient of a gradient starts from the general variant: the float
    # specialisation is the same function, behind a guard.
    func = getattr(func, "__s2sad_general__", func)
    # Code objects compare by content, so two same-text functions in different
    # modules would collide: key on identities. The cached function holds the
    # primal (hence its code, globals and cells), so the ids stay unique.
    # Defaults are part of the function too (`lambda t, i=i: ...` in a
    # loop); the generated functions hold the same tuples, keeping ids unique.
    return (id(func.__code__), id(func.__globals__),
            tuple(map(id, func.__closure__ or ())), id(func.__defaults__),
            id(func.__kwdefaults__), argnums, has_aux, with_value,
            optimize_code, mode)


def transformed(func, argnums, mode):
    """The generated derivative of a callee (`mode` "vjp" or "forward"), or
    None while it is itself being generated (a recursive call). It is
    optimised if its caller is: `optimize=False` shows the whole chain as
    generated."""
    optimize_code = _OPTIMIZING[-1] if _OPTIMIZING else True
    if _key(func, argnums, optimize_code=optimize_code, mode=mode) \
            in _UNDER_WAY:
        return None
    return differentiate(func, argnums, optimize_code=optimize_code,
                         mode=mode)


def _transform(func, argnums, has_aux, with_value, optimize_code, mode):
    """Parse, lower, transform, optimise and compile: `differentiate`
    without the cache."""
    try:
        source = frontend.parse(func)
        lowered = ssa.lower(source)
        if mode == "forward":
            generated = [forward.transform(lowered, argnums)]
        elif mode == "vjp":
            generated = reverse.transform_vjp(lowered, argnums)
        else:
            generated = reverse.transform(lowered, argnums, has_aux,
                                          with_value)
        for part in generated:
            if optimize_code:
                optimize.optimize(part.tree, part.derivative_names,
                                  part.runtime_name,
                                  _resolver(part.imports, func.__globals__,
                                            source.cells),
                                  arrays=not part.floats)
        if optimize_code and mode == "vjp":
            optimize.prune_residuals(generated[0].tree, generated[1].tree)
        texts = [codegen.to_source(part.tree) for part in generated]
    except errors.S2SADError:
        raise
    except Exception as exc:  # a bug in s2sad, not in the user's code
        raise errors.S2SADInternalError(
            f"s2sad failed on {func.__qualname__}: {type(exc).__name__}: "
            f"{exc}; please report this with the function",
            func.__code__.co_filename, func.__code__.co_firstlineno) from exc
    compiled = None
    for part, text in reversed(list(zip(generated, texts))):
        imports = dict(part.imports)
        if part.calls:
            imports[part.calls] = compiled
        later, compiled = compiled, codegen.compile_function(
            text, part.tree.name, func.__globals__, source.cells, imports)
        if mode == "vjp":
            compiled.backward = later
        elif later is not None:
            compiled.__s2sad_general__ = later
        if not (mode == "vjp" and later is None):  # not a backward sweep
            compiled.__defaults__ = func.__defaults__
            compiled.__kwdefaults__ = func.__kwdefaults__
    compiled.tangent_names = generated[0].tangent_names
    callees = [c for part in generated for c in part.callees]
    compiled.source = _chain_source("\n\n".join(texts), callees)
    compiled.ssa = ssa.to_source(lowered)
    compiled.__wrapped_primal__ = func  # keeps the cache key's ids alive
    return compiled


def _resolver(imports, user_globals, cells):
    """What a free name of generated code is, as far as the optimiser may
    rely on it: closure cells can change between calls, so they are not."""
    def resolve(name):
        if name in cells:
            return None
        return imports[name] if name in imports else user_globals.get(name)
    return resolve


def _chain_source(own, callees):
    """The generated source of a function and, after it, of the generated
    functions of the user code it calls (each once)."""
    texts = [own]
    for callee in callees:
        text = callee.source
        if all(text not in t for t in texts):
            texts.append(text)
    return "\n\n".join(texts)


def _check_argnums(func, argnums):
    # one more for *args (what calls.Binding differentiates items of)
    nparams = func.__code__.co_argcount + bool(
        func.__code__.co_flags & inspect.CO_VARARGS)
    positions = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(positions, tuple) or not positions or not all(
            isinstance(i, int) and 0 <= i < nparams for i in positions):
        raise errors.S2SADError(
            f"argnums={argnums!r} does not name parameters of "
            f"{func.__qualname__}, which takes {nparams}; give an int or a "
            "tuple of ints in range", func.__code__.co_filename,
            func.__code__.co_firstlineno)


def _decorator(with_value):
    def transform(f=None, argnums=0, *, has_aux=False, optimize=True):
        if isinstance(argnums, list):
            argnums = tuple(argnums)
        if f is None:  # @grad(argnums=...)
            return functools.partial(transform, argnums=argnums,
                                     has_aux=has_aux, optimize=optimize)
        return differentiate(f, argnums, has_aux, with_value, optimize)
    return transform


grad = _decorator(with_value=False)
grad.__name__ = grad.__qualname__ = "grad"
grad.__doc__ = """The gradient of a scalar-valued function.

Args:
    f: the function (also usable as `@grad` or `@grad(argnums=...)`).
    argnums: which positional argument(s) to differentiate: an int (returns
        one gradient) or a tuple of ints (returns a tuple).
    has_aux: f returns `(output, aux)`; the result is `(gradient, aux)`.
    optimize: run the optimisation passes (False keeps the code as generated).

Returns:
    A Python function with f's parameters; `.source` is its code and `.ssa`
    the SSA form of f it was generated from.
"""

value_and_grad = _decorator(with_value=True)
value_and_grad.__name__ = value_and_grad.__qualname__ = "value_and_grad"
value_and_grad.__doc__ = """Like `grad`, but returns `(value, gradient)`."""


def show(f, mode="reverse", stage="grad", argnums=0, optimize=True):
    """The source s2sad generates for `f`, as a string.

    Args:
        mode: "reverse" for the gradient, "forward" for the JVP function.
        stage: "ssa" for the lowered form, "grad" for the generated code.
    """
    if stage == "ssa":
        return ssa.to_source(ssa.lower(frontend.parse(f)))
    if stage != "grad":
        raise errors.S2SADError(f"unknown stage {stage!r}; use 'ssa' or 'grad'")
    if mode not in ("reverse", "forward"):
        raise errors.S2SADError(
            f"unknown mode {mode!r}; use 'reverse' or 'forward'")
    if mode == "forward" and isinstance(argnums, int):
        argnums = (argnums,)
    return differentiate(f, argnums, optimize_code=optimize, mode=mode).source


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
        return f(*primals), 0.0
    jvp_f = differentiate(f, argnums, mode="forward")
    return _call_jvp(jvp_f, primals, [tangents[i] for i in argnums])


def _call_jvp(jvp_f, primals, tangents):
    """Call a generated jvp function: its tangents go by name."""
    return jvp_f(*primals, **dict(zip(jvp_f.tangent_names, tangents)))


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
    forward_fn = differentiate(f, argnums, mode="vjp")
    value, residuals = forward_fn(*primals)
    backward = forward_fn.backward

    def vjp_fn(cotangent):
        grads = iter(backward(*residuals, runtime.tree_adjoint(cotangent,
                                                               value)))
        return tuple(runtime.tree_like(next(grads), p) if i in argnums
                     else None for i, p in enumerate(primals))
    return value, vjp_fn


def jacrev(f, argnums=0):
    """The Jacobian of `f` by reverse mode: one backward sweep per output
    element. Same shapes as `jacfwd`."""
    def jacobian_fn(*args):
        positions = (argnums,) if isinstance(argnums, int) else argnums
        value, vjp_fn = vjp(f, *args)
        out_shape = np.shape(value)
        rows = [[] for _ in positions]
        for idx in np.ndindex(*out_shape):
            basis = np.zeros(out_shape)
            basis[idx] = 1.0
            cotangents = vjp_fn(basis if out_shape else 1.0)
            for row, i in zip(rows, positions):
                row.append(np.asarray(cotangents[i], dtype=float))
        blocks = []
        for row, i in zip(rows, positions):
            in_shape = np.shape(args[i])
            stacked = np.stack(row) if row else np.zeros((0,) + in_shape)
            blocks.append(stacked.reshape(out_shape + in_shape))
        return blocks[0] if isinstance(argnums, int) else tuple(blocks)
    return jacobian_fn


def jacobian(f, argnums=0):
    """The Jacobian of `f`, by forward mode when it has fewer inputs than
    outputs and by reverse mode otherwise (the cheaper one: one pass per
    input or per output). The returned function records the mode it used
    last in its `mode` attribute."""
    forward_fn, reverse_fn = jacfwd(f, argnums), jacrev(f, argnums)

    def jacobian_fn(*args):
        positions = (argnums,) if isinstance(argnums, int) else argnums
        inputs = sum(np.size(args[i]) for i in positions)
        outputs = np.size(f(*args))
        jacobian_fn.mode = "forward" if inputs < outputs else "reverse"
        chosen = forward_fn if jacobian_fn.mode == "forward" else reverse_fn
        return chosen(*args)
    jacobian_fn.mode = None
    return jacobian_fn


def jacfwd(f, argnums=0):
    """The Jacobian of `f` by forward mode: one JVP per input element.

    Returns a function of f's arguments giving an array of shape
    `f(...).shape + x.shape` for `argnums` an int (a tuple of them for a
    tuple of argnums).
    """
    def jacobian_fn(*args):
        positions = (argnums,) if isinstance(argnums, int) else argnums
        jvp_f = differentiate(f, tuple(positions), mode="forward")
        columns = []
        for i in positions:
            x = np.asarray(args[i], dtype=float)
            zeros = [np.zeros_like(np.asarray(args[j], dtype=float))
                     for j in positions]
            out, block = None, []
            for idx in np.ndindex(*x.shape):
                tangents = list(zeros)
                basis = np.zeros(x.shape)
                basis[idx] = 1.0
                tangents[positions.index(i)] = _like(args[i], basis)
                out, column = _call_jvp(jvp_f, args, tangents)
                block.append(np.asarray(column, dtype=float))
            out_shape = np.shape(out if out is not None else f(*args))
            stacked = np.stack(block, axis=-1) if block else np.zeros(
                out_shape + (0,))
            columns.append(stacked.reshape(out_shape + x.shape))
        return columns[0] if isinstance(argnums, int) else tuple(columns)
    return jacobian_fn


def hessian(f, argnums=0):
    """The Hessian of a scalar function, forward over reverse: the forward-
    mode Jacobian of s2sad's gradient (shape `x.shape + x.shape`)."""
    if not isinstance(argnums, int):
        raise errors.S2SADError("hessian takes one argument position "
                                "(argnums=int)")
    return jacfwd(grad(f, argnums=argnums), argnums=argnums)


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
    rng = np.random.default_rng(seed)
    grads = grad(f, argnums=argnums)(*args) if "rev" in modes else None
    for k, i in enumerate(argnums):
        # a tuple, list or dict argument is checked leaf by leaf
        for path, leaf in _leaves(args[i]):
            where = f"{f.__name__} (arg {i}{''.join(f'[{p!r}]' for p in path)})"
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

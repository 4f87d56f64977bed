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

import numpy as np

from s2sad import codegen, errors, frontend, optimize, reverse, ssa

_CACHE = {}
stats = {"transformations": 0}  # counted for tests of the cache


def differentiate(func, argnums=0, has_aux=False, with_value=False,
                  optimize_code=True):
    """Run the pipeline on `func`; return the compiled generated function."""
    if not hasattr(func, "__code__"):
        frontend.parse(func)  # raises the error that explains why
    # Code objects compare by content, so two same-text functions in different
    # modules would collide: key on identities. The cached function holds the
    # primal (hence its code, globals and cells), so the ids stay unique.
    key = (id(func.__code__), id(func.__globals__),
           tuple(map(id, func.__closure__ or ())), argnums, has_aux,
           with_value, optimize_code, "reverse")
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    _check_argnums(func, argnums)
    try:
        source = frontend.parse(func)
        lowered = ssa.lower(source)
        generated = reverse.transform(lowered, argnums, has_aux, with_value)
        texts = []
        for part in generated:
            if optimize_code:
                optimize.optimize(part.tree, part.derivative_names,
                                  part.runtime_name)
            texts.append(codegen.to_source(part.tree))
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
        compiled = codegen.compile_function(
            text, part.tree.name, func.__globals__, source.cells, imports)
    compiled.source = "\n\n".join(texts)
    compiled.ssa = ssa.to_source(lowered)
    compiled.__wrapped_primal__ = func  # keeps the cache key's ids alive
    stats["transformations"] += 1
    _CACHE[key] = compiled
    return compiled


def _check_argnums(func, argnums):
    nparams = func.__code__.co_argcount
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
        mode: "reverse" (forward mode is not implemented yet).
        stage: "ssa" for the lowered form, "grad" for the generated gradient.
    """
    if stage == "ssa":
        return ssa.to_source(ssa.lower(frontend.parse(f)))
    if stage != "grad":
        raise errors.S2SADError(f"unknown stage {stage!r}; use 'ssa' or 'grad'")
    if mode != "reverse":
        raise errors.S2SADError(
            f"mode {mode!r} is not supported yet; use mode='reverse'",
            f.__code__.co_filename, f.__code__.co_firstlineno)
    return differentiate(f, argnums, optimize_code=optimize).source


def check_grads(f, args, argnums=None, eps=1e-6, rtol=1e-6, atol=1e-8,
                directions=3, seed=0):
    """Check s2sad's gradient of `f` at `args` against central differences.

    Every component is compared with `(f(x + eps e_i) - f(x - eps e_i)) / 2eps`
    and, along `directions` random unit vectors `v`, `v . grad f` is compared
    with `(f(x + eps v) - f(x - eps v)) / 2eps`.

    Raises:
        AssertionError: with the mismatching values.
    """
    args = list(args)
    if argnums is None:
        argnums = tuple(range(len(args)))
    grads = grad(f, argnums=argnums)(*args)
    rng = np.random.default_rng(seed)
    for i, g in zip(argnums, grads):
        x = np.asarray(args[i], dtype=float)

        def along(v):
            plus, minus = list(args), list(args)
            plus[i] = _like(args[i], x + eps * v)
            minus[i] = _like(args[i], x - eps * v)
            return (f(*plus) - f(*minus)) / (2 * eps)
        numeric = np.zeros(x.shape)
        for idx in np.ndindex(*x.shape):
            basis = np.zeros(x.shape)
            basis[idx] = 1.0
            numeric[idx] = along(basis)
        _assert_close(g, numeric, rtol, atol, f"d{f.__name__}/d(arg {i})")
        for _ in range(directions):
            v = rng.standard_normal(x.shape)
            v /= np.linalg.norm(v) or 1.0
            _assert_close(np.sum(np.asarray(g) * v), along(v), rtol, atol,
                          f"directional derivative of {f.__name__} (arg {i})")


def _like(original, value):
    return float(value) if isinstance(original, (float, int)) else value


def _assert_close(actual, expected, rtol, atol, what):
    if np.shape(actual) != np.shape(expected) or not np.allclose(
            actual, expected, rtol=rtol, atol=atol):
        raise AssertionError(f"{what}: s2sad gives {actual!r}, central "
                             f"differences give {expected!r}")

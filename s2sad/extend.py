"""What users write to steer differentiation, inside or beside their code.

    y = s2sad.stop_gradient(x)        # y is x, but no derivative flows back

    @s2sad.custom_vjp                 # a derivative written in plain Python
    def solve(a, b): ...
    solve.defvjp(solve_fwd, solve_bwd)

    @s2sad.custom_jvp                 # or its JVP, used by both modes
    def f(x): ...
    @f.defjvp
    def f_jvp(primals, tangents): ...

    with s2sad.grad_of(h) as dh:      # runs in the backward pass, where the
        dh = np.clip(dh, -1.0, 1.0)   # adjoint of h is complete

Template rules for the user's own functions are `s2sad.adjoint` and
`s2sad.tangent` (rules.registry), and `s2sad.non_differentiable`.
"""

import functools
import inspect
import types
from typing import Callable, Optional, Sequence

import numpy as np

from s2sad import calls, errors, runtime
from s2sad.calls import CustomVJP
from s2sad.rules import registry


def stop_gradient(x):
    """`x` itself; s2sad treats the result as a constant (zero derivative)."""
    return x


registry.non_differentiable(stop_gradient)


def custom_vjp(fun: Callable, nondiff_argnums: Sequence[int] = ()
               ) -> CustomVJP:
    """Give `fun` a derivative written in plain Python, for a black box
    s2sad cannot read or a function with a cheaper adjoint than its code's
    (as `jax.custom_vjp`).

    `fun.defvjp(fwd, bwd)`: `fwd(*args) -> (value, residuals)` runs going
    forward; `bwd(residuals, value_bar)` returns one cotangent per positional
    argument. `fun.defjvp(jvp)`: `jvp(primals, tangents) -> (value,
    tangent)` for forward mode (tangents None for arguments held constant).

    With `nondiff_argnums` (positions of arguments that are not
    differentiated: flags, functions, sizes), `bwd(*nondiff, residuals,
    value_bar)` receives their values first and returns cotangents for the
    other arguments only, as in JAX; use it as
    `@functools.partial(s2sad.custom_vjp, nondiff_argnums=(0,))`.
    """
    return _Custom(fun, tuple(nondiff_argnums))


def custom_jvp(fun: Callable, nondiff_argnums: Sequence[int] = ()
               ) -> CustomVJP:
    """Give `fun` a forward-mode derivative written in plain Python, as
    `jax.custom_jvp`:

        @s2sad.custom_jvp
        def f(x, y): ...

        @f.defjvp
        def f_jvp(primals, tangents):
            ...
            return primal_out, tangent_out

    Tangents of the differentiated arguments are arrays (zeros for those
    held constant); with nondiff_argnums, `f_jvp(*nondiff, primals,
    tangents)` covers the other arguments only. Reverse mode uses the same
    rule: the Jacobian is built from one JVP per element of each input
    (its columns), and the cotangent is its transpose times value_bar, so
    for inputs and outputs of floats and arrays; give a cheaper reverse
    rule with `f.defvjp(fwd, bwd)`.
    """
    return _Custom(fun, tuple(nondiff_argnums), reverse_from_jvp=True)


def checkpoint(fun: Optional[Callable] = None, *,
               save: str = "nothing") -> Callable:
    """Recompute `fun` in the backward sweep instead of keeping what its
    derivative reads (as `jax.checkpoint`), usable as a decorator
    (`@s2sad.checkpoint`, or `@s2sad.checkpoint(save="products")`).

    Called inside a differentiated function, `fun(*args)` keeps only its
    arguments for the backward sweep: there, its forward sweep runs again
    from them, then its backward sweep. A layer's or a time step's
    intermediate arrays then live only while its own derivative runs, for
    the price of running it twice. In forward mode, and undifferentiated,
    it is `fun` itself. `fun` must not change its arguments in place (the
    recomputation starts from them), and must give the same value when run
    again (no random numbers drawn inside: pass them in); s2sad checks the
    value and refuses the gradient if it differs. For a long loop inside
    one function, see `s2sad.checkpointed`.

    Args:
        save: what the forward sweep keeps besides the arguments, as JAX's
            checkpoint policies: "nothing" (everything is recomputed), or
            "products" (the value of each matrix product `a @ b` or
            `np.matmul(a, b)` written in fun's own body, as JAX's
            `dots_saveable`: the recomputation gives them back instead of
            multiplying again, and recomputes the cheap elementwise work
            around them).
    """
    try:
        if save not in ("nothing", "products"):
            raise errors.S2SADError(
                f"s2sad.checkpoint: save={save!r}; give \"nothing\" or "
                "\"products\"")
        if fun is None:
            return functools.partial(checkpoint, save=save)
        function = getattr(fun, "__func__", fun)
        if save == "products" and not isinstance(function,
                                                 types.FunctionType):
            raise errors.S2SADError(
                "s2sad.checkpoint(save=\"products\") of a "
                f"{type(fun).__name__}: give a function or method (its "
                "products are found in its source)")
        if save == "products" and function.__closure__:
            raise errors.S2SADError(
                "s2sad.checkpoint(save=\"products\") of "
                f"{function.__qualname__}, a closure (it reads values of "
                "the function around it): pass those values as arguments, "
                "or use save=\"nothing\"")
    except errors.S2SADError as exc:
        errors.locate(exc)  # (at the user's call)
        raise
    return calls.Recomputed(fun, save)


class _Custom(CustomVJP):
    """custom_vjp and custom_jvp: JAX's calling conventions (arguments
    not differentiated) over s2sad's (every positional argument)."""

    def __init__(self, fn, nondiff_argnums=(), reverse_from_jvp=False):
        super().__init__(fn)
        self.nondiff_argnums = nondiff_argnums
        self.reverse_from_jvp = reverse_from_jvp

    def defvjp(self, fwd, bwd):
        """`fwd(*args) -> (value, residuals)`; `bwd(*nondiff, residuals,
        value_bar)` -> one cotangent per argument not in nondiff_argnums
        (None for none), each of its argument's shape (checked)."""
        nondiff = self.nondiff_argnums
        signature = inspect.signature(self.fn)

        def forward(*args, **kwargs):
            if kwargs:  # arguments passed by name, in fun's order
                args = signature.bind(*args, **kwargs).args
            value, residuals = fwd(*args)
            return value, ([args[i] for i in nondiff], residuals,
                           [np.shape(a) for a in args])

        def backward(saved, value_bar):
            fixed, residuals, shapes = saved
            given = bwd(*fixed, residuals, value_bar)
            check_cotangents(bwd, given, shapes, nondiff)
            cotangents = []
            j = 0
            for i in range(len(shapes)):
                if i in nondiff:
                    cotangents.append(None)
                else:
                    cotangents.append(given[j])
                    j = j + 1
            return tuple(cotangents)
        return super().defvjp(forward, backward)

    def defjvp(self, jvp):
        """`jvp(*nondiff, primals, tangents) -> (value, tangent)`; usable
        as a decorator (returns jvp)."""
        nondiff = self.nondiff_argnums
        # the user's own rule when it takes every argument (so that it is
        # differentiated again for higher orders)
        rule = functools.partial(_without, jvp, nondiff) if nondiff else jvp
        super().defjvp(rule)
        if self.reverse_from_jvp:
            super().defvjp(functools.partial(_jacobian_columns, rule),
                           _transposed)
        return jvp


def check_cotangents(bwd, cotangents, shapes, nondiff):
    """A custom_vjp's bwd must return a tuple with one cotangent (or None)
    per argument not in nondiff_argnums, each of its argument's shape."""
    code = getattr(bwd, "__code__", None)
    where = (code.co_filename, code.co_firstlineno) if code else ()
    name = getattr(bwd, "__qualname__", None) or repr(bwd)
    own = [shape for i, shape in enumerate(shapes) if i not in nondiff]
    if not isinstance(cotangents, (tuple, list)):
        raise errors.UnsupportedCallError(
            f"the bwd rule {name} of a custom_vjp returned "
            f"{type(cotangents).__name__}; return a tuple with one "
            f"cotangent per differentiable argument ({len(own)}), such as "
            "`(g,)` for one", *where)
    if len(cotangents) != len(own):
        raise errors.UnsupportedCallError(
            f"the bwd rule {name} of a custom_vjp returned "
            f"{len(cotangents)} cotangents for {len(own)} arguments; return "
            "one per positional argument not in nondiff_argnums (None for "
            "those without)",
            *where)
    for k, (g, shape) in enumerate(zip(cotangents, own)):
        if g is not None and np.shape(g) != shape:
            raise errors.UnsupportedCallError(
                f"the bwd rule {name} of a custom_vjp returned a cotangent "
                f"of shape {np.shape(g)} for an argument of shape {shape} "
                f"(its cotangent {k}); return one of the argument's shape",
                *where)


registry.non_differentiable(check_cotangents)


def _without(jvp, nondiff, primals, tangents):
    """A jvp rule of JAX's custom_jvp with nondiff_argnums called as s2sad
    calls one: the values of those arguments first, then the others'
    primals and tangents."""
    own = [i for i in range(len(primals)) if i not in nondiff]
    return jvp(*[primals[i] for i in nondiff],
               tuple(primals[i] for i in own),
               tuple(tangents[i] for i in own))


def _jacobian_columns(rule, *args):
    """The forward pass of a custom_jvp in reverse mode: its value, and
    the Jacobian's columns for each differentiated argument (one JVP per
    element)."""
    value = None
    columns = []
    for i, arg in enumerate(args):
        if not calls.differentiable(arg):
            columns.append(None)
            continue
        x = np.asarray(arg, dtype=float)
        block = []
        for idx in np.ndindex(*x.shape):
            basis = np.zeros(x.shape)
            basis[idx] = 1.0
            tangents = [None if not calls.differentiable(a) else
                        (float(basis) if j == i and x.ndim == 0 and
                         isinstance(a, float) else basis if j == i else
                         runtime.zeros_like(a))
                        for j, a in enumerate(args)]
            value, column = rule(args, tangents)
            block.append(np.asarray(column))
        columns.append((arg, block))
    if value is None:
        value = rule(args, [None for _ in args])[0]
    return value, columns


def _transposed(columns, value_bar):
    """The backward pass of a custom_jvp: each argument's cotangent, the
    dot product of value_bar with each of its Jacobian columns."""
    g = np.asarray(value_bar)
    grads = []
    for entry in columns:
        if entry is None:
            grads.append(None)
            continue
        arg, block = entry
        flat = np.array([np.sum(g * column) for column in block])
        grads.append(float(flat[0]) if np.ndim(arg) == 0 else np.reshape(
            flat, np.shape(arg)))
    return tuple(grads)


class grad_of:
    """`with s2sad.grad_of(x) as dx:` in a differentiated function: the
    block runs in the backward pass, where the adjoint of `x` is complete,
    with `dx` bound to it; what `dx` holds at the end of the block replaces
    it (to clip, rescale or log a gradient: Tangent's derivative surgery).
    Forward mode ignores the block.

    When the function runs undifferentiated, no gradient exists and the
    block runs with `dx` a zero of x's shape.
    """

    def __init__(self, x):
        self.x = x

    def __enter__(self):
        return np.zeros_like(self.x, dtype=float) if np.ndim(self.x) \
            else 0.0

    def __exit__(self, *exc):
        return False

"""s2sad's own transformations called inside a differentiated function
(`d = lambda x: grad(f)(x)`, `jacobian(jacobian(f))`, the gradient of a loss
built inside a loss).

Their results are functions: calling one is a call dispatched at run time,
differentiated through the code they run. What these rules carry is the
dependence on the function they transform when it is a closure over
differentiated values: the result binds the same values (`runtime.bound`),
so its cotangent is the function's (`grad`), or holds it (`jacfwd`, whose
result binds the function itself).

Imported by `s2sad.api` once it is complete.
"""

from s2sad import api, calls, extend, runtime
from s2sad.rules.registry import (
    adjoint, batched, d, non_differentiable, tangent, via_output)


# grad(f) binds f's values: its cotangent and tangent are f's

@adjoint(api.grad)
def grad_rev(y, fun=None, argnums: via_output = 0,
             has_aux: via_output = False, holomorphic: via_output = False,
             allow_int: via_output = False, *, optimize: via_output = True):
    d[fun] = d[y]


@tangent(api.grad)
def grad_fwd(y, fun=None, argnums: via_output = 0,
             has_aux: via_output = False, holomorphic: via_output = False,
             allow_int: via_output = False, *, optimize: via_output = True):
    d[y] = d[fun]


@adjoint(api.value_and_grad)
def value_and_grad_rev(y, fun=None, argnums: via_output = 0,
                       has_aux: via_output = False,
                       holomorphic: via_output = False,
                       allow_int: via_output = False, *,
                       optimize: via_output = True):
    d[fun] = d[y]


@tangent(api.value_and_grad)
def value_and_grad_fwd(y, fun=None, argnums: via_output = 0,
                       has_aux: via_output = False,
                       holomorphic: via_output = False,
                       allow_int: via_output = False, *,
                       optimize: via_output = True):
    d[y] = d[fun]


# jacfwd(f) and the others bind f itself: one value

@adjoint(api.jacfwd, api.hessian)
def jacfwd_rev(y, fun, argnums: via_output = 0, has_aux: via_output = False,
               holomorphic: via_output = False, *,
               chunk_size: via_output = None):
    d[fun] = d[y][0]


@tangent(api.jacfwd, api.hessian)
def jacfwd_fwd(y, fun, argnums: via_output = 0, has_aux: via_output = False,
               holomorphic: via_output = False, *,
               chunk_size: via_output = None):
    d[y] = (d[fun],)


@adjoint(api.jacrev)
def jacrev_rev(y, fun, argnums: via_output = 0, has_aux: via_output = False,
               holomorphic: via_output = False,
               allow_int: via_output = False, *,
               chunk_size: via_output = None):
    d[fun] = d[y][0]


@tangent(api.jacrev)
def jacrev_fwd(y, fun, argnums: via_output = 0, has_aux: via_output = False,
               holomorphic: via_output = False,
               allow_int: via_output = False, *,
               chunk_size: via_output = None):
    d[y] = (d[fun],)


@adjoint(api.elementwise_grad)
def elementwise_grad_rev(y, fun, argnum: via_output = 0):
    d[fun] = d[y][0]


@tangent(api.elementwise_grad)
def elementwise_grad_fwd(y, fun, argnum: via_output = 0):
    d[y] = (d[fun],)


@adjoint(api.jacobian)
def jacobian_rev(y, fun, argnums: via_output = 0,
                 has_aux: via_output = False,
                 holomorphic: via_output = False, *,
                 chunk_size: via_output = None):
    d[fun] = d[y][0]


@tangent(api.jacobian)
def jacobian_fwd(y, fun, argnums: via_output = 0,
                 has_aux: via_output = False,
                 holomorphic: via_output = False, *,
                 chunk_size: via_output = None):
    d[y] = (d[fun],)


# A gradient's code calls a function value it does not differentiate (a
# closure, or one passed in) through `calls.vjp_functions(g, args, ...)`:
# `(forward, pull)`, forward binding g's values (`runtime.bound`) as g
# does. Where that code is differentiated with respect to g's values (the
# gradient of a closure over them, taken inside a differentiated function),
# forward's tangent and cotangent are g's where it binds them, zeros for
# the rest; pull binds them only where it recomputes the call (a
# checkpoint's: what it reads of them otherwise comes through forward's
# residuals); where the call differentiates g itself, it passes g's values
# to forward instead (`calls.to_forward`). The call's arguments are read
# for their number and kind only.

@adjoint(calls.vjp_functions, constants=("args", "keywords", "slots"))
def vjp_functions_rev(y, function, args: via_output, keywords: via_output,
                      slots, spread: via_output = (),
                      owned: via_output = False,
                      vector: via_output = False):
    d[function] = calls.to_function(d[y][0], slots, y[0], function) + \
        calls.to_function(d[y][1], slots, y[1], function, False, False)


@tangent(calls.vjp_functions)
def vjp_functions_fwd(y, function, args: via_output, keywords: via_output,
                      slots, spread: via_output = (),
                      owned: via_output = False,
                      vector: via_output = False):
    d[y] = (calls.to_forward(d[function], slots, y[0], function),
            calls.to_forward(d[function], slots, y[1], function, False,
                             False))


@batched(calls.vjp_functions)
def vjp_functions_batched(y, function, args: via_output,
                          keywords: via_output, slots, spread: via_output = (),
                          owned: via_output = False,
                          vector: via_output = False):
    d[y] = (calls.to_forward(d[function], slots, y[0], function, True),
            calls.to_forward(d[function], slots, y[1], function, True,
                             False))


# the zero cotangent jacrev gives a function's auxiliary output: a constant
non_differentiable(api._zero_cotangent)


# the adjoint of the gradients a vjp or a gradient function returns
# (`runtime.gradients`), reached when such a derivative is differentiated
# a fourth time (check_grads with order=4): linear in the cotangents, which
# it reshapes to the gradients' shapes


@adjoint(runtime.ungradients, constants=("gs",))
def ungradients_rev(y, g, gs: via_output):
    d[g] = _broadcast_back(d[y], g)


@tangent(runtime.ungradients)
def ungradients_fwd(y, g, gs):
    d[y] = runtime.ungradients(d[g], gs)


def _broadcast_back(bar, g):
    """The adjoint of `runtime.ungradients` with respect to its cotangents
    `g`: each item of `bar` broadcast back to its cotangent's shape."""
    return runtime.sequence([runtime.broadcast_like(b, gi)
                             for b, gi in zip(bar, g)])


# checkpoint(f) binds f's values: its cotangent and tangent are f's

@adjoint(extend.checkpoint)
def checkpoint_rev(y, fun=None, *, save: via_output = "nothing"):
    d[fun] = d[y]


@tangent(extend.checkpoint)
def checkpoint_fwd(y, fun=None, *, save: via_output = "nothing"):
    d[y] = d[fun]

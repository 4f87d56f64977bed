"""What users write to steer differentiation, inside or beside their code.

    y = s2sad.stop_gradient(x)        # y is x, but no derivative flows back

    @s2sad.custom_vjp                 # a derivative written in plain Python
    def solve(a, b): ...
    solve.defvjp(solve_fwd, solve_bwd)

    with s2sad.grad_of(h) as dh:      # runs in the backward pass, where the
        dh = np.clip(dh, -1.0, 1.0)   # adjoint of h is complete

Template rules for the user's own functions are `s2sad.adjoint` and
`s2sad.tangent` (rules.registry), and `s2sad.non_differentiable`.
"""

import numpy as np

from s2sad.calls import CustomVJP
from s2sad.rules import registry


def stop_gradient(x):
    """`x` itself; s2sad treats the result as a constant (zero derivative)."""
    return x


registry.non_differentiable(stop_gradient)


def custom_vjp(fn):
    """Give `fn` a derivative written in plain Python, for a black box s2sad
    cannot read or a function with a cheaper adjoint than its code's.

    `fn.defvjp(fwd, bwd)`: `fwd(*args) -> (value, residuals)` runs going
    forward; `bwd(residuals, value_bar)` returns one cotangent per positional
    argument. `fn.defjvp(jvp)`: `jvp(primals, tangents) -> (value, tangent)`
    for forward mode (tangents None for arguments held constant).
    """
    return CustomVJP(fn)


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

"""s2sad: source-to-source automatic differentiation for Python and NumPy.

`s2sad.grad(f)` reads f's source and generates a Python function that
computes its gradient; `.source` shows it. `__all__` lists the public API:
the transformations, the rule-definition decorators and gradient hooks,
and the error class. `d`, the `d[x]` of rule templates, is public too but
is left out of `from s2sad import *`, so that a one-letter name of yours is
not replaced: import it by name (`from s2sad import d`).
"""

from s2sad.api import (
    Derivative, check_grads, clear_cache, elementwise_grad, grad, hessian,
    hvp, jacfwd, jacobian, jacrev, jvp, linearize, make_hvp, show,
    value_and_grad, vjp)
from s2sad.checkpoints import checkpointed, checkpointed_while
from s2sad.errors import S2SADError
from s2sad.extend import (
    checkpoint, custom_jvp, custom_vjp, grad_of, stop_gradient)
from s2sad.rules.registry import (  # noqa: F401 - d is not in __all__
    adjoint, d, elementwise, non_differentiable, tangent)

__version__ = "0.1.0"

__all__ = [
    # Transformations
    "grad", "value_and_grad", "jvp", "vjp", "linearize", "jacfwd",
    "jacrev", "jacobian", "hessian", "hvp", "make_hvp", "elementwise_grad",
    "check_grads", "show", "clear_cache", "Derivative",
    # Memory
    "checkpoint", "checkpointed", "checkpointed_while",
    # Rules of your own, and gradient hooks
    "adjoint", "tangent", "elementwise", "non_differentiable",
    "custom_vjp", "custom_jvp", "grad_of", "stop_gradient",
    # Errors
    "S2SADError",
]

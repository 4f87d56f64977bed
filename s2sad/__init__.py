"""s2sad: source-to-source automatic differentiation for Python and NumPy."""

from s2sad.api import (  # noqa: F401
    Derivative, check_grads, clear_cache, elementwise_grad, grad, hessian,
    hvp, jacfwd, jacobian, jacrev, jvp, linearize, make_hvp, show,
    value_and_grad, vjp)
from s2sad.errors import S2SADError  # noqa: F401
from s2sad.extend import (  # noqa: F401
    custom_jvp, custom_vjp, grad_of, stop_gradient)
from s2sad.rules.registry import (  # noqa: F401
    adjoint, d, elementwise, non_differentiable, tangent)

__version__ = "0.1.0"

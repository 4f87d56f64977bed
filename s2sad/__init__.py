"""s2sad: source-to-source automatic differentiation for Python and NumPy."""

from s2sad.api import check_grads, grad, show, value_and_grad  # noqa: F401
from s2sad.errors import S2SADError  # noqa: F401
from s2sad.rules.registry import (  # noqa: F401
    adjoint, elementwise, non_differentiable)

__version__ = "0.1.0"

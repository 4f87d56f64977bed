"""Rules for NumPy reductions functions: adjoint and tangent templates side by side."""

import numpy as np

from s2sad import runtime  # noqa: F401
from s2sad.rules.registry import adjoint, d, tangent  # noqa: F401

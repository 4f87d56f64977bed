"""Derivative rules, one module per namespace, and the registry they fill."""

from s2sad.rules import (  # noqa: F401
    builtins, cmath, math, numpy, numpy_fft, numpy_linalg, numpy_products, numpy_reductions,
    numpy_shape, operators, runtime, syntax)
from s2sad.rules import numpy_ufuncs  # noqa: F401  (after the rules it reads)
from s2sad.rules import batched  # noqa: F401  (vector mode's, last)
from s2sad.rules.registry import (  # noqa: F401
    adjoint, all_rules, attribute, d, elementwise, lookup, non_differentiable,
    tangent)

"""Derivatives written as plain Python over NumPy, which s2sad reads and
differentiates as it does the user's code: each order differentiates the
one below, so they have derivatives of every order without rules of their
own. (Not a rule module: the templates call these.)"""

import numpy as np


def sign_derivative(t, z):
    """The derivative of abs's derivative `runtime.sign` along t: 0 for
    real z (sign is piecewise constant); for complex z, d(conj(z) / |z|) =
    conj(t) / r - conj(z) Re(conj(z) t) / r**3 with r = |z| (1 at 0). This
    real-linear map is its own adjoint under JAX's convention, so it is
    also sign's adjoint."""
    if not np.iscomplexobj(z):
        return 0.0 * np.real(t)
    r = np.abs(z)
    r = np.where(r == 0.0, 1.0, r)
    return np.conj(t) / r - np.conj(z) * np.real(np.conj(z) * t) / r ** 3

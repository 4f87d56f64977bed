"""A user's own function with a template rule (templates need a real file)."""

import numpy as np

import s2sad
from s2sad.rules.registry import d


def softplus(x):
    return np.log1p(np.exp(x))


@s2sad.adjoint(softplus)
def softplus_rev(y, x):
    d[x] = d[y] / (1.0 + np.exp(-x))


@s2sad.tangent(softplus)
def softplus_fwd(y, x):
    d[y] = d[x] / (1.0 + np.exp(-x))


def wobble(x):
    return np.sin(3.0 * x)


@s2sad.adjoint(wobble)
def wobble_rev(y, x):
    d[x] = d[y] * 3.0 * np.cos(3.0 * x)


def uses_wobble(x):
    return np.sum(wobble(x))


def uses_softplus(x):
    return np.sum(softplus(x * 2.0))

"""Rules for scipy.stats.norm, loaded once the user's program imports
scipy.stats (rules.registry): logpdf, pdf, cdf and logcdf, elementwise in
x, loc and scale, which broadcast. With z = (x - loc) / scale:

    logpdf = -z**2 / 2 - log(scale) - log(2 pi) / 2
    cdf = ndtr(z), logcdf = log_ndtr(z), pdf = exp(logpdf)

Their derivatives are written with NumPy functions that have rules, so
they differentiate again.
"""

import math

import numpy as np
from scipy import stats

from s2sad.rules.registry import elementwise

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@elementwise(stats.norm.logpdf)
def norm_logpdf(y, x, loc=0.0, scale=1.0):
    """d/dx = -z / scale, d/dloc = z / scale, d/dscale = (z**2 - 1) /
    scale."""
    return ((loc - x) / (scale * scale), (x - loc) / (scale * scale),
            ((x - loc) * (x - loc) / (scale * scale) - 1.0) / scale)


@elementwise(stats.norm.pdf)
def norm_pdf(y, x, loc=0.0, scale=1.0):
    """pdf times logpdf's partials."""
    return (y * (loc - x) / (scale * scale), y * (x - loc) / (scale * scale),
            y * ((x - loc) * (x - loc) / (scale * scale) - 1.0) / scale)


@elementwise(stats.norm.cdf)
def norm_cdf(y, x, loc=0.0, scale=1.0):
    """The density at z over scale; times -1 for loc and -z for scale."""
    return (INV_SQRT_2PI * np.exp(-0.5 * ((x - loc) / scale) ** 2) / scale,
            -INV_SQRT_2PI * np.exp(-0.5 * ((x - loc) / scale) ** 2) / scale,
            -INV_SQRT_2PI * np.exp(-0.5 * ((x - loc) / scale) ** 2)
            * (x - loc) / (scale * scale))


@elementwise(stats.norm.logcdf)
def norm_logcdf(y, x, loc=0.0, scale=1.0):
    """cdf's partials over the cdf, as exp(log density - logcdf): no
    overflow far in the lower tail."""
    return (INV_SQRT_2PI * np.exp(-0.5 * ((x - loc) / scale) ** 2 - y)
            / scale,
            -INV_SQRT_2PI * np.exp(-0.5 * ((x - loc) / scale) ** 2 - y)
            / scale,
            -INV_SQRT_2PI * np.exp(-0.5 * ((x - loc) / scale) ** 2 - y)
            * (x - loc) / (scale * scale))

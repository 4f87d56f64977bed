"""Rules for Python built-ins."""

import builtins

from s2sad import runtime
from s2sad.rules.registry import elementwise, non_differentiable


@elementwise(builtins.abs, domain="nonzero")
def abs(y, x):
    return runtime.sign(x)


@elementwise(builtins.float)
def float(y, x):
    return 1.0


@elementwise(builtins.max, domain="distinct")
def max(z, x, y):
    return runtime.balanced_max_partial(x, y), runtime.balanced_max_partial(y, x)


@elementwise(builtins.min, domain="distinct")
def min(z, x, y):
    return runtime.balanced_max_partial(y, x), runtime.balanced_max_partial(x, y)


non_differentiable(builtins.len, builtins.range, builtins.int, builtins.round,
                   builtins.bool, builtins.isinstance, builtins.type,
                   builtins.slice)

"""Rules for Python built-ins."""

import builtins

from s2sad import runtime, ssa
from s2sad.rules.registry import (
    d, elementwise, mutating, non_differentiable, tangent)


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


# ---- lists (the tapes of generated code, differentiated again) ----

mutating(ssa.method("append"))


@tangent(ssa.method("pop"))
def pop_fwd(y, items):
    d[y] = d[items].pop()


@tangent(builtins.list)
def list_fwd(y, items):
    d[y] = list(d[items])


non_differentiable(builtins.len, builtins.range, builtins.int, builtins.round,
                   builtins.bool, builtins.isinstance, builtins.type,
                   builtins.slice, builtins.reversed)

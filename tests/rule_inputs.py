"""How rows of the registry test (tests/test_rules.py) name their inputs."""


class Draw:
    """A random float input, drawn from the rule's domain when the test runs.

    Args:
        shape: an array shape, or None for a Python float.
    """

    def __init__(self, shape=None):
        self.shape = shape

    def __repr__(self):
        if self.shape is None:
            return "float"
        return "x".join(map(str, self.shape)) or "0d"


def arr(*shape):
    """A random float array of `shape`; with no arguments, a 0-d array."""
    return Draw(shape)


FLOAT = Draw()
ALL = None  # as argnums: every float input of the row


# the rows every reduction over `axis` with `keepdims` is checked on
REDUCTIONS = [
    ("OP(x0)", [arr(2, 3)], ALL),
    ("OP(x0)", [arr(3)], ALL),
    ("OP(x0)", [arr()], ALL),
    ("OP(x0, axis=None)", [arr(2, 3)], ALL),
    ("OP(x0, axis=0)", [arr(2, 3)], ALL),
    ("OP(x0, axis=1)", [arr(2, 3)], ALL),
    ("OP(x0, axis=-1)", [arr(2, 3)], ALL),
    ("OP(x0, 0)", [arr(2, 3)], ALL),
    ("OP(x0, axis=(0, 1))", [arr(2, 3)], ALL),
    ("OP(x0, axis=(0, 2))", [arr(2, 3, 4)], ALL),
    ("OP(x0, axis=(-1, 0))", [arr(2, 3, 4)], ALL),
    ("OP(x0, keepdims=True)", [arr(2, 3)], ALL),
    ("OP(x0, axis=1, keepdims=True)", [arr(2, 3)], ALL),
    ("OP(x0, axis=-1, keepdims=True)", [arr(3)], ALL),
    ("OP(x0, axis=(0, 1), keepdims=True)", [arr(2, 3)], ALL),
]


def deprecated_here(fn, *args):
    """Whether this NumPy deprecates `fn` (np.fix from NumPy 2.5, np.trapz
    from 2.0): calling it with `args` warns. Such a function keeps its
    rule, for the NumPy versions that do not warn, but the tests call it
    only there."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn(*args)
        except Exception:
            return False
    return any(issubclass(w.category, DeprecationWarning) for w in caught)


def call_or_skip_where_deprecated(fn, *args):
    """`call_or_skip_on_old_numpy`, and a call this NumPy deprecates skips
    the test, saying so (np.row_stack on NumPy 2.4): its rule stays for
    the versions that do not deprecate it."""
    import warnings
    import pytest
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = call_or_skip_on_old_numpy(fn, *args)
    if any(issubclass(w.category, DeprecationWarning) for w in caught):
        pytest.skip("this NumPy deprecates the call (its rule stays for the "
                    "versions that do not)")
    return out


def call_or_skip_on_old_numpy(fn, *args):
    """fn(*args); on NumPy before 2.0, a call that NumPy itself refuses (a
    keyword or a broadcast 2.0 added: `pinv(rtol=)`, `cholesky(upper=)`,
    `reshape(shape=)`, `solve` of a stack by one vector) skips the test,
    saying so. s2sad differentiates what the user's NumPy can run."""
    import numpy as np
    import pytest
    if int(np.__version__.split(".")[0]) >= 2:
        return fn(*args)
    try:
        return fn(*args)
    except (TypeError, ValueError) as exc:
        pytest.skip(f"NumPy {np.__version__} does not run this call: {exc}")

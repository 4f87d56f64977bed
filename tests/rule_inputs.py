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

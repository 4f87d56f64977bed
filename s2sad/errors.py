"""Errors s2sad raises on purpose.

Every error about the user's code is an `S2SADError` whose message starts with
`path/to/file.py:LINE:` of the user's source, names the construct and says what
to do instead. Internal failures during a transformation are wrapped into
`S2SADInternalError` so no bare `KeyError` or `AttributeError` reaches the user.
"""


class S2SADError(Exception):
    """Base class of every error s2sad raises on purpose."""

    def __init__(self, message, filename=None, lineno=None):
        self.filename = filename
        self.lineno = lineno
        self.message = message
        if filename is not None:
            message = f"{filename}:{lineno if lineno is not None else '?'}: {message}"
        super().__init__(message)


class UnsupportedSyntaxError(S2SADError):
    """A Python construct s2sad cannot differentiate (yet)."""


class UnsupportedCallError(S2SADError):
    """A call to a function with no derivative rule and no source."""


class NameResolutionError(S2SADError):
    """A free name in the function that does not resolve to a live object."""


class SourceUnavailableError(S2SADError):
    """The function's source cannot be retrieved (built-ins, REPL, exec)."""


class GradientShapeError(S2SADError):
    """`grad` of a function whose output is not a scalar."""


class S2SADInternalError(S2SADError):
    """A bug in s2sad: please report it with the function that triggered it."""


class OneElementOutput(GradientShapeError):
    """`grad` of a function whose output is an array of one element: the
    Derivative computes it as a vjp (autograd accepts such outputs)."""

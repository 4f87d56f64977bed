"""Errors s2sad raises on purpose.

Every error about the user's code is an `S2SADError` whose message starts with
`path/to/file.py:LINE:` of the user's source, names the construct and says what
to do instead. Internal failures during a transformation are wrapped into
`S2SADInternalError` so no bare `KeyError` or `AttributeError` reaches the user.

Locations in generated code are the user's. s2sad differentiates code it
generated itself (a gradient of a gradient, a jvp of a vjp), and its generated
code calls helpers that check values at run time. So every generated function
has a *line map* (`map_lines`, made by `codegen.compile_code`): for each of its
lines, the line of the function it was generated from, which may be generated
code too. `user_location` follows the maps down to the user's file and line:
an error built at a line of generated code names the user's line it came
from. `locate` does the same for an exception leaving s2sad's API through
generated code: an S2SADError raised with no location (a check on values in a
runtime helper or a rule) gets the user's line of the innermost generated
frame it passed through, and any other exception a note naming the user's
file, line and source text of the generated frames it passed through.
"""

import linecache
import os
import re
import sys


class S2SADError(Exception):
    """Base class of every error s2sad raises on purpose."""

    def __init__(self, message, filename=None, lineno=None):
        self.message = message
        self.filename = self.lineno = None
        super().__init__(message)
        if filename is not None:
            self.relocate(*user_location(filename, lineno))

    def reached_from(self, filename, lineno):
        """Add a line of the user's that led to this error (a call into
        code elsewhere, a library's, which s2sad refuses): each caller on
        the way adds its own."""
        if (self.filename, self.lineno) == (filename, lineno):
            return
        link = f"  reached from {filename}:{lineno}: {_text(filename, lineno)}"
        self.args = (f"{self.args[0]}\n{link.rstrip()}",) + self.args[1:]

    def relocate(self, filename, lineno):
        """Name `filename:lineno` as the error's location."""
        self.filename, self.lineno = filename, lineno
        where = f"{filename}:{lineno if lineno is not None else '?'}: "
        self.args = (where + self.message,) + self.args[1:]


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


class InputTypeError(S2SADError, TypeError):
    """An input of the wrong kind for the derivative asked: an integer
    without `allow_int=True`, or a real number with `holomorphic=True`."""


_LINE_MAPS = {}  # generated pseudo-filename -> (origin filename, lines)
_GENERATED = "<s2sad:"
_LOCATED = re.compile(r"^(.+?):(\d+): ")
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def map_lines(filename, origin, lines):
    """Record where the lines of the generated code in `filename` come
    from: line k (1-based) of it from line `lines[k - 1]` of `origin`."""
    _LINE_MAPS[filename] = (origin, tuple(lines))


def line_map(filename):
    """(origin, lines) recorded by `map_lines` for `filename`, or None."""
    return _LINE_MAPS.get(filename)


def is_generated(filename):
    return filename is not None and filename.startswith(_GENERATED)


def user_location(filename, lineno):
    """The file and line that line `lineno` of `filename` comes from: itself
    for a user's file, followed through the line maps of generated code
    (a derivative of a derivative has two)."""
    return user_locations(filename, lineno)[-1]


def user_locations(filename, lineno):
    """`user_location`, after the lines of the calls it was reached
    through when it comes from a helper inlined into its caller (a map's
    entry is then a tuple of lines, the outermost call first)."""
    via = ()
    while filename in _LINE_MAPS:
        origin, lines = _LINE_MAPS[filename]
        if lineno is None or not 0 < lineno <= len(lines):
            lineno = lines[0] if lines else None
        else:
            lineno = lines[lineno - 1]
        via = lineno[:-1] if isinstance(lineno, tuple) else ()
        lineno = lineno[-1] if isinstance(lineno, tuple) else lineno
        filename = origin
    return [(filename, line) for line in via] + [(filename, lineno)]


def generated_frames(traceback):
    """The user's (file, line) of each frame of generated code in a
    traceback, outermost first; consecutive repeats once."""
    found = []
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if is_generated(code.co_filename):
            for where in user_locations(code.co_filename,
                                        traceback.tb_lineno):
                if not is_generated(where[0]) and where not in found[-1:]:
                    found.append(where)
        traceback = traceback.tb_next
    return found


def _caller(frame):
    """The user's (file, line) of the first frame, going out from `frame`,
    that is neither s2sad's own code nor generated code it has no map of."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE):
            where = user_location(filename, frame.f_lineno)
            if not is_generated(where[0]):
                return where
        frame = frame.f_back
    return None


def _text(filename, lineno):
    return linecache.getline(filename, lineno).strip() if lineno else ""


def locate(exc):
    """Point an exception leaving s2sad's API at the user's code (called by
    the API as the exception passes; the first call decides).

    An S2SADError with no location of its own, or one in generated code no
    line map reaches, is located at the innermost frame of generated code
    it passed through, else at the user's call into s2sad. Any other
    exception that passed through generated code gets a note (its message
    on Python 3.10) naming, for each such frame, the user's file, line and
    source text it was generated from.
    """
    if getattr(exc, "_s2sad_located", False):
        return
    try:
        exc._s2sad_located = True
    except AttributeError:  # an exception class with __slots__
        return
    frames = generated_frames(exc.__traceback__)
    if isinstance(exc, S2SADError):
        if exc.filename is not None and not is_generated(exc.filename):
            for frame in reversed(frames):  # a refusal in a library's code
                exc.reached_from(*frame)  # the derivative called at run time
            return
        found = _LOCATED.match(exc.message)
        if found and not is_generated(found.group(1)):
            # located in its text (runtime.check_scalar's `where`)
            exc.filename, exc.lineno = found.group(1), int(found.group(2))
            return
        where = frames[-1] if frames else _caller(sys._getframe(1))
        if where is not None:
            exc.relocate(*where)
        return
    if not frames:
        return
    lines = [f"  {f}:{n}: {_text(f, n)}".rstrip() for f, n in frames]
    note = "in code s2sad generated from:\n" + "\n".join(lines)
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    elif exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]}\n{note}",) + exc.args[1:]

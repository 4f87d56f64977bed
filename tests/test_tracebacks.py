"""Tracebacks through generated code: its lines shown, the user's named.

An exception raised while code s2sad generated runs shows, in a traceback,
the generated line of each of its frames (the text is in `linecache`;
Python 3.10 to 3.12 print an uncaught exception in C, which reads files
only, so s2sad prints those itself), and carries one note naming the
user's file, line and text each generated frame came from (in its message
on Python 3.10 when the message is its one argument). Each way generated
code runs is covered: a forward and a backward sweep, float and array
code, an inlined callee and one derived when called (passed as an
argument), forward mode, a gradient of a gradient, a vjp's
pullback called later, and the user's own code called from generated code.
A warning raised in generated code gets the same note.

Run: python -m pytest -q tests/test_tracebacks.py (on any Python >= 3.10).
"""

import linecache
import subprocess
import sys
import textwrap
import traceback

import numpy as np
import pytest

import s2sad
from s2sad import errors

from tests.test_error_locations import _line_of


def divides(x, y):
    z = x / y
    return z * 2.0


def picks(a):
    b = a[[0, 5]]
    return np.sum(b)


def determinant(a):
    d = np.linalg.det(a)
    return d * 2.0


def looping(a):
    for _ in range(2):
        a = a * 1.0
    d = np.linalg.det(a)
    return d


def calls_looping(a):
    z = looping(a) + looping(a * 2.0)
    return z


def applies(fn, a):
    y = fn(a) * 2.0
    return y


def pole(x):
    y = x ** 3 / (x - 1.0)
    return y


def raises_key(x):
    raise KeyError("the key")


def calls_raises_key(x):
    return raises_key(x) * x


SINGULAR = np.ones((2, 2))

CASES = {
    # name: (call, exception, function, text of the user's failing line)
    "float forward sweep": (lambda: s2sad.grad(divides)(1.0, 0.0),
                            ZeroDivisionError, divides, "z = x / y"),
    "array forward sweep": (lambda: s2sad.grad(picks)(np.ones(3)),
                            IndexError, picks, "b = a[[0, 5]]"),
    "backward sweep": (lambda: s2sad.grad(determinant)(SINGULAR),
                       np.linalg.LinAlgError, determinant,
                       "d = np.linalg.det(a)"),
    "callee": (lambda: s2sad.grad(calls_looping)(SINGULAR),
               np.linalg.LinAlgError, looping, "d = np.linalg.det(a)"),
    "callee derived when called": (
        lambda: s2sad.grad(applies, argnums=1)(determinant, SINGULAR),
        np.linalg.LinAlgError, determinant, "d = np.linalg.det(a)"),
    "forward mode": (lambda: s2sad.jvp(calls_looping, (SINGULAR,),
                                       (SINGULAR,)),
                     np.linalg.LinAlgError, looping, "d = np.linalg.det(a)"),
    "second order": (lambda: s2sad.grad(s2sad.grad(pole))(1.0),
                     ZeroDivisionError, pole, "y = x ** 3 / (x - 1.0)"),
    "pullback called later": (lambda: s2sad.vjp(determinant, SINGULAR)[1](
        1.0), np.linalg.LinAlgError, determinant, "d = np.linalg.det(a)"),
    "user code": (lambda: s2sad.grad(calls_raises_key)(1.0), KeyError,
                  raises_key, 'raise KeyError("the key")'),
}


def _caught(call, kind):
    with pytest.raises(kind) as info:
        call()
    return info.value


def _notes(exc):
    """The notes s2sad gave `exc`, one text."""
    return "\n".join(getattr(exc, "__notes__", ()))


def _generated_frames_without_lines(exc):
    """The `File "<s2sad:...` lines of the printed traceback of `exc` that
    no source line follows."""
    printed = "".join(traceback.format_exception(
        type(exc), exc, exc.__traceback__)).splitlines()
    return [line for line, after in zip(printed, printed[1:] + [""])
            if line.startswith('  File "<s2sad:')
            and not after.startswith("    ")]


@pytest.mark.parametrize("name", CASES)
def test_a_traceback_shows_generated_lines_and_notes_the_users(name):
    call, kind, func, text = CASES[name]
    exc = _caught(call, kind)
    assert not _generated_frames_without_lines(exc)
    note = _notes(exc)
    assert note.count("in code s2sad generated from:") == 1, note
    assert f"{__file__}:{_line_of(func, text)}: {text}" in note, note
    assert "<s2sad:" not in note


def test_generated_lines_survive_a_cleared_linecache():
    exc = _caught(CASES["array forward sweep"][0], IndexError)
    linecache.clearcache()
    exc = _caught(CASES["array forward sweep"][0], IndexError)
    assert not _generated_frames_without_lines(exc)


def test_the_users_exception_keeps_its_arguments():
    """A KeyError's argument is its key, not a message: it stays as it
    was, the note goes in `__notes__` (printed on 3.10 by s2sad)."""
    exc = _caught(CASES["user code"][0], KeyError)
    assert exc.args == ("the key",)


def test_a_message_carries_the_note_on_python_310():
    exc = _caught(CASES["float forward sweep"][0], ZeroDivisionError)
    if sys.version_info < (3, 11):
        assert _notes(exc) in str(exc)
        assert len(exc.args) == 1
    else:
        assert _notes(exc) not in str(exc)


def test_an_exception_through_two_derivatives_is_noted_once():
    def outer(x):
        return s2sad.grad(divides)(x, 0.0) * x

    exc = _caught(lambda: s2sad.grad(outer)(1.0), ZeroDivisionError)
    assert _notes(exc).count("in code s2sad generated from:") == 1
    assert str(exc).count("in code s2sad generated from:") <= 1


SCRIPT = """\
import numpy as np
import s2sad

def f(x):
    a = np.array([x, x])
    return a[3] * x

s2sad.grad(f)(1.0)
"""


def test_an_uncaught_exception_prints_the_generated_line(tmp_path):
    """The interpreter's own printing of an uncaught exception (in C on
    Python 3.10 to 3.12) shows the generated line and the note."""
    script = tmp_path / "uncaught.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    printed = done.stderr
    assert 'File "<s2sad:grad_f:' in printed, printed
    assert "    _t2 = a[3]" in printed, printed
    assert textwrap.dedent(f"""\
        IndexError: index 3 is out of bounds for axis 0 with size 2
        in code s2sad generated from:
          {script}:6: return a[3] * x""") in printed, printed


def test_an_exception_ending_a_thread_prints_the_generated_line(tmp_path):
    script = tmp_path / "thread.py"
    script.write_text(SCRIPT.replace(
        "s2sad.grad(f)(1.0)", "import threading\n"
        "thread = threading.Thread(target=s2sad.grad(f), args=(1.0,))\n"
        "thread.start()\nthread.join()"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=120)
    assert "Exception in thread" in done.stderr, done.stderr
    assert "    _t2 = a[3]" in done.stderr, done.stderr


def test_an_uncaught_keyerror_prints_its_note(tmp_path):
    script = tmp_path / "key.py"
    script.write_text(textwrap.dedent("""\
        import s2sad

        def f(x):
            return {"a": x}["b"]

        s2sad.grad(f)(1.0)
        """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=120)
    assert "KeyError: 'b'\nin code s2sad generated from:\n" \
        f"  {script}:4: " in done.stderr, done.stderr


def test_other_exceptions_print_as_the_interpreter_prints_them(capsys):
    """s2sad prints only exceptions that passed through generated code;
    any other one as the interpreter's own hook does."""
    exc = _caught(lambda: int("x"), ValueError)
    sys.__excepthook__(type(exc), exc, exc.__traceback__)
    expected = capsys.readouterr().err
    errors._excepthook(type(exc), exc, exc.__traceback__)
    assert capsys.readouterr().err == expected
    assert not errors._through_generated(exc)


def test_a_warning_in_generated_code_names_the_users_line(tmp_path):
    script = tmp_path / "warns.py"
    script.write_text(textwrap.dedent("""\
        import math
        import s2sad

        def root(x):
            return math.sqrt(x) * 2.0

        s2sad.grad(root)(0.0)
        """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "RuntimeWarning: divide by zero" in done.stderr, done.stderr
    assert "in code s2sad generated from:\n" \
        f"  {script}:5: return math.sqrt(x) * 2.0" in done.stderr, \
        done.stderr


def test_a_warning_in_a_runtime_helper_names_the_users_line(tmp_path):
    # raised in s2sad.runtime (its division), called by generated code
    script = tmp_path / "warns.py"
    script.write_text(textwrap.dedent("""\
        import numpy as np
        import s2sad

        def total_log(x):
            y = np.log(x)
            return np.sum(y)

        s2sad.grad(total_log)(np.array([0.0, 1.0]))
        """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    helper = done.stderr.split("runtime.py:")[1]
    assert "RuntimeWarning: divide by zero encountered in divide" in helper
    assert "in code s2sad generated from:\n" \
        f"  {script}:5: y = np.log(x)" in helper, done.stderr

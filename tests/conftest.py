"""Shared fixtures for the s2sad tests."""

import linecache
import os
import re
import tempfile

import numpy as np
import pytest

from s2sad import codegen, errors, specialise

# The disk cache: on, as for users, but in a directory of this run's own,
# so that a run never reads what an earlier run (another version) wrote.
_CACHE_DIR = tempfile.TemporaryDirectory(prefix="s2sad-test-cache-")
os.environ["S2SAD_CACHE_DIR"] = _CACHE_DIR.name


def _compared(specialised_code, general, *args, **kwargs):
    """The specialised code's result, checked to be the general code's to
    the bit (of the same types), or its exception the general code's."""
    try:
        result = specialised_code(*args, **kwargs)
    except Exception as exc:
        try:
            general(*args, **kwargs)
        except type(exc):
            raise exc from None
        raise AssertionError(f"only the specialised code raised {exc!r}")
    _same(result, general(*args, **kwargs))
    return result


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (np.ndarray, np.generic, float, complex)):
        assert np.shape(a) == np.shape(b) and getattr(
            a, "dtype", None) == getattr(b, "dtype", None)
        assert np.array_equal(a, b, equal_nan=True), (a, b)
        assert not isinstance(a, np.ndarray) or not np.shares_memory(a, b)


# With S2SAD_TEST_SPECIALISED=1, every derivative is specialised to its
# arguments at its first call, and each call of specialised code compared
# with the general code's (see s2sad.specialise).
if os.environ.get("S2SAD_TEST_SPECIALISED") == "1":
    specialise.AT_ONCE, specialise.CHECKED = True, _compared


@pytest.fixture
def effects_counted(monkeypatch):
    """For a test that counts what a differentiated function does (prints,
    calls, changes to module-level data): each call runs the code once, as
    for users, even where S2SAD_TEST_SPECIALISED=1 runs the general code
    after the specialised to compare them."""
    monkeypatch.setattr(specialise, "AT_ONCE", False)
    monkeypatch.setattr(specialise, "CHECKED", None)


# A warning while compiling generated code ("'float' object is not
# subscriptable") is a bug of the generator: an error in every test.
codegen.STRICT = True


@pytest.fixture
def rng():
    """A fresh generator per test, seeded: every run draws the same inputs."""
    return np.random.default_rng(0)


def user_location(exc):
    """The user's `file:line` an S2SADError's message starts with, checked:
    not code s2sad generated (`<s2sad:...>`) and, for a file on disk (not
    the user's own `exec`), a line of it; AssertionError otherwise."""
    message = str(exc)
    found = re.match(r"(.+?):(\d+): ", message)
    assert found, f"no location: {type(exc).__name__}: {message}"
    filename, line = found.group(1), int(found.group(2))
    assert "<s2sad:" not in message, f"names generated code: {message}"
    assert os.path.isfile(filename) or filename == "<string>", \
        f"not a user's file: {message}"
    assert filename == "<string>" or 0 < line <= len(
        linecache.getlines(filename)), f"not a user's line: {message}"
    return filename, line


class _Located:
    """`pytest.raises(...)` as a context, also checking the location of
    the S2SADError it catches."""

    def __init__(self, context):
        self.context = context

    def __enter__(self):
        self.info = self.context.__enter__()
        return self.info

    def __exit__(self, *exc_info):
        caught = self.context.__exit__(*exc_info)
        if caught and isinstance(self.info.value, errors.S2SADError):
            user_location(self.info.value)
        return caught


_raises = pytest.raises


def _located_raises(expected, *args, **kwargs):
    if args:  # pytest.raises(cls, function, *args)
        info = _raises(expected, *args, **kwargs)
        if isinstance(info.value, errors.S2SADError):
            user_location(info.value)
        return info
    return _Located(_raises(expected, **kwargs))


@pytest.fixture(autouse=True)
def _refusals_name_the_users_line(monkeypatch):
    """Every S2SADError a test expects, anywhere in the suite, names the
    user's file and line: never code s2sad generated, never nothing."""
    monkeypatch.setattr(pytest, "raises", _located_raises)

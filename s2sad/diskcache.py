"""The persistent cache: generated derivatives kept on disk for the next
process.

A process that differentiates a function some earlier process differentiated
reads the generated code from disk instead of running the pipeline. An
entry is found by a key over everything the generated code was made from
that can be read before generating it: the function's code and source
lines, the options, and the versions of s2sad (and of its files), Python,
NumPy and gast. What the generation looked up by name (globals, helpers,
modules, rules) is stored with the entry as *descriptions* (`describe`),
which mean the same in another process: a module by its name, a function
by its module, qualified name, code, source lines and defaults, a value by
its type. The entry is used only if every name still denotes something with
the same description; the guard of the derivative made from it then works
as for a derivative generated in this process (see `derive`).

Safety, as for Python's own `__pycache__`: an entry holds the generated
source text and its code objects (`marshal`, for this Python version only,
through the key) and plain data, never pickled objects. It lives in
`S2SAD_CACHE_DIR`, or `$XDG_CACHE_HOME/s2sad` (`~/.cache/s2sad`), created
readable by its owner only (mode 0700). Since an entry is code s2sad runs,
a directory that another user owns or may write into is not used, nor an
entry another user wrote (one warning says so). Files are written to a
temporary file and renamed (`os.replace`), so a concurrent process reads a
whole entry or none; each starts with the SHA-256 of the rest, and an entry
that does not match it is ignored and rewritten. When the directory cannot
be written (read-only, full), one warning says so and derivatives stay in
memory. The first write of a process removes the temporaries of writers
that died and the least recently used entries beyond `MAX_ENTRIES`.
`S2SAD_CACHE=0` turns the disk cache off; `s2sad --clear-cache` (or
`clear()`) empties it.
"""

import hashlib
import linecache
import marshal
import os
import sys
import sysconfig
import tempfile
import time
import types
import warnings

import gast
import numpy as np

from s2sad import errors
from s2sad.rules import registry

FORMAT = 1  # of the entries: a change makes every older entry a miss
_SUFFIX = ".s2sad"
MAX_ENTRIES = 4096  # kept on disk; the least recently used go first
_STALE_TEMPORARY = 600  # seconds after which a writer's temporary is dead
_STATE = {"environment": None, "warned": False, "broken": False,
          "directory": (None, None), "swept": False}


class CacheWarning(UserWarning):
    """The disk cache cannot be used; derivatives stay in memory."""


def enabled():
    """Whether derivatives are read from and written to disk."""
    return os.environ.get("S2SAD_CACHE", "1") != "0" and \
        not _STATE["broken"]


def directory():
    """The cache directory (not created): `S2SAD_CACHE_DIR`, else
    `$XDG_CACHE_HOME/s2sad` (a relative XDG_CACHE_HOME is ignored, as the
    XDG specification says), else `~/.cache/s2sad`; a relative path is
    read from the working directory of the first use, and kept."""
    chosen = os.environ.get("S2SAD_CACHE_DIR") or ""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    setting = (chosen, base)
    if _STATE["directory"][0] != setting:
        if chosen:
            path = os.path.abspath(os.path.expanduser(chosen))
        else:
            if not os.path.isabs(base):
                base = os.path.join(os.path.expanduser("~"), ".cache")
            path = os.path.join(base, "s2sad")
        _STATE["directory"] = (setting, path)
    return _STATE["directory"][1]


def clear():
    """Delete every entry of the cache directory (and the temporaries of
    writers that died); how many entries there were. What cannot be
    removed (another user's file, a directory) is left."""
    removed = 0
    for name, path in _listing(directory()):
        try:
            os.remove(path)
            removed += name.endswith(_SUFFIX)
        except OSError:  # removed meanwhile, not ours, not a file
            pass
    return removed


def _listing(root):
    """(name, path) of the entries and temporaries in `root`."""
    try:
        names = os.listdir(root)
    except OSError:  # none yet, or not a directory
        return []
    return [(name, os.path.join(root, name)) for name in names
            if name.endswith(_SUFFIX) or name.startswith(".tmp-")]


# ---- keys ----

def key(func, options):
    """The key of the entry for `func` differentiated with `options` (a
    tuple of plain values), or None when it has none (the disk cache off,
    or a function without source lines)."""
    if not enabled():
        return None
    code = func.__code__
    lines = source_digest(code)
    if lines is None:
        return None
    text = repr((FORMAT, environment(), code.co_filename, func.__module__,
                 func.__qualname__, code_digest(code), lines, options))
    return hashlib.sha256(text.encode()).hexdigest()


def environment():
    """What every entry depends on besides its function: the versions of
    s2sad (and the size, times and inode of each of its files, so that an
    edited checkout counts as another version), Python, NumPy and gast."""
    if _STATE["environment"] is None:
        import s2sad
        files = sorted(_package_files(os.path.dirname(s2sad.__file__), ""))
        _STATE["environment"] = (
            s2sad.__version__, hashlib.sha256(repr(files).encode()).hexdigest(),
            sys.version, sys.implementation.cache_tag, np.__version__,
            getattr(gast, "__version__", ""))
    return _STATE["environment"]


def _package_files(directory, prefix):
    """(path, size, modification time) of each Python file of a package."""
    for entry in os.scandir(directory):
        if entry.is_dir() and entry.name != "__pycache__":
            yield from _package_files(entry.path, prefix + entry.name + "/")
        elif entry.name.endswith(".py"):
            # the change time too: a copy or edit that restores the
            # modification time (cp -p, touch -r) still changes it
            stat = entry.stat()
            yield (prefix + entry.name, stat.st_size, stat.st_mtime_ns,
                   stat.st_ctime_ns, stat.st_ino)


def code_digest(code):
    """A digest of a code object that is the same in every process for the
    same code: its instructions, names, constants (nested code too) and
    line table. (`marshal` output is not: it depends on reference counts.)"""
    digest = hashlib.sha256()
    _feed_code(digest, code)
    return digest.hexdigest()[:32]


def _feed_code(digest, code):
    for part in (code.co_name, code.co_argcount, code.co_posonlyargcount,
                 code.co_kwonlyargcount, code.co_flags, code.co_firstlineno,
                 code.co_names, code.co_varnames, code.co_freevars,
                 code.co_cellvars):
        digest.update(repr(part).encode() + b"\0")
    digest.update(code.co_code)
    for table in ("co_linetable", "co_exceptiontable"):
        digest.update(getattr(code, table, b"") or b"")
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            _feed_code(digest, constant)
        else:
            digest.update(_constant_text(constant).encode() + b"\0")


def _constant_text(value):
    """repr of a constant, the same in every process (a frozenset's order
    depends on string hashing, which differs)."""
    if isinstance(value, frozenset):
        return "frozenset(" + repr(sorted(map(_constant_text, value))) + ")"
    if isinstance(value, tuple):
        return "(" + ",".join(map(_constant_text, value)) + ")"
    return f"{type(value).__name__}:{value!r}"


def source_digest(code):
    """A digest of the source lines of `code` (from its first line, a
    decorator's, to its last), or None when they cannot be read: generated
    comments and messages quote them."""
    lines = linecache.getlines(code.co_filename)
    last = _last_line(code)
    if not lines or last is None or last > len(lines):
        return None
    text = "".join(lines[code.co_firstlineno - 1:last])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _last_line(code):
    found = [line for _, _, line in code.co_lines() if line is not None]
    found += [_last_line(c) or 0 for c in code.co_consts
              if isinstance(c, types.CodeType)]
    return max(found, default=None)


# ---- descriptions ----

def describe(value):
    """What `value` is, as a tuple of plain values that means the same in
    any process, or None when it has no such description (a closure, a
    callable object, a derivative s2sad generated): a derivative built on
    such a value is kept in memory only. A value with a rule of the user's
    (not s2sad's own) is described with its rule."""
    if isinstance(value, types.ModuleType):
        return ("module", value.__name__)
    if not callable(value):
        return ("data", describe_type(type(value)))
    if isinstance(value, type):
        found = describe_type(value)
    elif isinstance(value, types.FunctionType):
        found = _describe_function(value)
    elif isinstance(value, types.MethodType):  # bound to an object
        function = _describe_function(value.__func__)
        found = function and ("method", function,
                              describe_type(type(value.__self__)))
    elif isinstance(value, (types.BuiltinFunctionType, np.ufunc)) or type(
            value).__module__ in ("numpy", "numpy._core._multiarray_umath",
                                  "builtins") and hasattr(value, "__name__"):
        found = ("builtin", type(value).__name__,
                 getattr(value, "__module__", None) or _ufunc_module(value),
                 getattr(value, "__qualname__", value.__name__),
                 _self_name(value))
    else:
        return None
    rule = registry.lookup(value) if found else None
    if rule is not None:
        described = _describe_rule(rule)
        found = None if described is None else found + (described,)
    return found


def _self_name(value):
    """The module a builtin function is bound to (`math.exp`: "math")."""
    owner = getattr(value, "__self__", None)
    if isinstance(owner, types.ModuleType):
        return owner.__name__
    return None if owner is None else describe_type(type(owner))


def _ufunc_module(value):
    return registry._ufunc_module(value)


def _describe_function(func):
    if func.__closure__ or hasattr(func, "__s2sad_transformation__") or \
            hasattr(func, "__s2sad_fresh__"):
        return None  # (its cells' values may differ from process to process)
    code = func.__code__
    defaults = _describe_constants(func.__defaults__)
    kwdefaults = _describe_constants(
        tuple(sorted((func.__kwdefaults__ or {}).items())))
    if defaults is None or kwdefaults is None:
        return None
    return ("function", func.__module__, func.__qualname__, code.co_filename,
            code_digest(code), source_digest(code), defaults, kwdefaults)


def _describe_constants(values):
    """Default values, as text, when they are plain constants (they may be
    inlined into the caller), else None."""
    if values is None:
        return ""
    try:
        return _constant_text(values) if _plain(values) else None
    except RecursionError:
        return None


def _plain(value):
    if isinstance(value, (tuple, frozenset)):
        return all(map(_plain, value))
    return value is None or type(value) in (bool, int, float, complex, str,
                                            bytes)


def describe_type(cls):
    """A class: by module and name; the user's own also by the code of its
    methods (a library's, by its version: the class then changes only when
    the library does, and NumPy's version is in the key)."""
    module = getattr(cls, "__module__", None)
    found = ("class", module, getattr(cls, "__qualname__", cls.__name__))
    if _is_library(module):
        return found
    methods = []
    for klass in cls.__mro__:
        if _is_library(klass.__module__):
            continue
        for name, member in sorted(vars(klass).items()):
            member = getattr(member, "__func__", member)  # static, class
            if isinstance(member, types.FunctionType):
                methods.append((klass.__qualname__, name,
                                code_digest(member.__code__)))
    return found + (tuple(methods),)


_LIBRARY_PATHS = tuple({sysconfig.get_paths()[name] + os.sep
                        for name in ("stdlib", "platstdlib", "purelib",
                                     "platlib")})


def _is_library(module_name):
    """Is the module part of Python or of an installed package (not the
    user's own code)?"""
    if module_name in (None, "builtins") or module_name in \
            sys.builtin_module_names:
        return True
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    if path is None:
        return False
    if module_name.split(".")[0] == "s2sad":
        return True
    return os.path.abspath(path).startswith(_LIBRARY_PATHS)


def _describe_rule(rule):
    """A rule of the user's, by the code of its templates (s2sad's own
    are in the key, through s2sad's files)."""
    found = []
    for kind in ("adjoint", "tangent", "partials"):
        template = getattr(rule, kind)
        fn = getattr(template, "fn", None)
        if fn is None:
            continue
        module = getattr(fn, "__globals__", {}).get("__name__") or ""
        if module.split(".")[0] == "s2sad":
            found.append((kind, "s2sad"))
        else:
            function = _describe_function(fn)
            if function is None:
                return None
            found.append((kind, function))
    if rule.by_arity is not None:
        found.append(("by_arity", rule.by_arity.__module__))
    return ("rule", tuple(found), rule.broadcasts, rule.domain,
            rule.differentiable, rule.makes_complex, tuple(rule.constants),
            tuple(rule.indices), rule.sequences)


# ---- entries ----

def read(entry_key):
    """The payload stored under `entry_key`, or None (none, another
    format, damaged, or not written by this user: a damaged entry of
    ours is deleted)."""
    root = directory()
    if not _safe(root):
        return None
    path = os.path.join(root, entry_key + _SUFFIX)
    try:
        with open(path, "rb") as file:
            if not _owned(os.fstat(file.fileno())):
                return None
            data = file.read()
    except OSError:
        return None
    digest, body = data[:32], data[32:]
    try:
        if hashlib.sha256(body).digest() != digest:
            raise ValueError("its content does not match its hash")
        payload = marshal.loads(body)
        if not isinstance(payload, dict) or payload.get("key") != entry_key:
            raise ValueError("not an entry for this key")
    except (ValueError, EOFError, TypeError):
        try:
            os.remove(path)
        except OSError:
            pass
        return None
    try:
        os.utime(path)  # recently used: evicted last
    except OSError:
        pass
    return payload


def write(entry_key, payload):
    """Store `payload` (plain values and code objects) under `entry_key`,
    atomically; on a directory that cannot be written, warn once and stop
    using the disk."""
    root = directory()
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        if not _safe(root):
            return
        if not _STATE["swept"]:
            _STATE["swept"] = True
            _sweep(root)
        body = marshal.dumps(dict(payload, key=entry_key))
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=root)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(hashlib.sha256(body).digest() + body)
            os.replace(temporary, os.path.join(root, entry_key + _SUFFIX))
        except BaseException:
            try:
                os.remove(temporary)
            except OSError:
                pass
            raise
    except OSError as exc:
        _give_up(f"s2sad cannot write its cache in {root} ({exc})")


def _safe(root):
    """Is `root` a directory that only this user can write into? Another
    user could otherwise put code there that s2sad would run (a shared
    directory, one owned by someone else)."""
    if not hasattr(os, "getuid"):  # (Windows: the user's own profile)
        return True
    try:
        found = os.stat(root)
    except OSError:
        return True  # none yet: nothing to read, and made private
    if _owned(found) and not found.st_mode & 0o022:
        return True
    _give_up(f"s2sad does not use the cache directory {root}: it is "
             + ("writable by other users" if _owned(found)
                else "owned by another user"))
    return False


def _owned(found):
    return not hasattr(os, "getuid") or found.st_uid == os.getuid()


def _give_up(reason):
    """Stop using the disk for this process, saying why once."""
    _STATE["broken"] = True
    if not _STATE["warned"]:
        _STATE["warned"] = True
        warnings.warn(
            f"{reason}; derivatives are kept in memory for the rest of this "
            "process. Set S2SAD_CACHE_DIR to a directory of your own, or "
            "S2SAD_CACHE=0", CacheWarning,
            stacklevel=errors.user_stack_level())


def _sweep(root):
    """Remove the temporaries of writers that died, and the least recently
    used entries beyond MAX_ENTRIES with the one about to be written (once
    per process, at its first write)."""
    entries, now = [], time.time()
    for name, path in _listing(root):
        try:
            found = os.stat(path)
        except OSError:
            continue
        if name.startswith(".tmp-"):
            if now - found.st_mtime > _STALE_TEMPORARY:
                _remove(path)
        else:
            entries.append((found.st_mtime, path))
    entries.sort()
    for _, path in entries[:max(0, len(entries) + 1 - MAX_ENTRIES)]:
        _remove(path)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass

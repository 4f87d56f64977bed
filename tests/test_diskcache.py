"""The disk cache: a second process gets the derivative from disk, and any
change to what it was made from makes it again; entries are private,
atomic, checked and plain data; a broken disk falls back to memory."""

import json
import marshal
import os
import stat
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import s2sad
from s2sad import derive, diskcache

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODEL = '''
import math
import numpy as np
from cachehelpers import squash

C = 2.0


def loss(w, x):
    y = squash(x @ w) * C
    for i in range(3):
        y = y + math.sin(y[0]) * w
    return np.sum(y * y)
'''

HELPERS = '''
import numpy as np


def squash(z):
    total = 0.0
    for k in range(2):
        total = total + np.tanh(z) / (k + 1.0)
    return total
'''

# Runs in a fresh process: differentiates cachemodel.loss and prints the
# gradient, its value and what the caches did, as JSON.
RUN = '''
import json, sys
import numpy as np
import s2sad
from s2sad import derive
import cachemodel as model
w = np.array([0.3, -0.2, 0.5])
x = np.arange(9.0).reshape(3, 3) / 10
value, grad = s2sad.value_and_grad(model.loss)(w, x)
print(json.dumps({"value": value, "grad": grad.tolist(),
                  "stats": derive.stats,
                  "source": s2sad.grad(model.loss).source}))
'''


@pytest.fixture
def project(tmp_path):
    """A directory with cachemodel.py (importing cachehelpers.py), a cache
    directory of its own; `run(**env)` runs RUN there in a new process."""
    (tmp_path / "cachemodel.py").write_text(MODEL)
    (tmp_path / "cachehelpers.py").write_text(HELPERS)
    (tmp_path / "run.py").write_text(RUN)
    cache = tmp_path / "cache"

    def run(script="run.py", **env):
        environ = dict(os.environ, S2SAD_CACHE_DIR=str(cache),
                       PYTHONPATH=os.pathsep.join([str(tmp_path), REPO]))
        environ.update(env)
        done = subprocess.run([sys.executable, script], cwd=tmp_path,
                              env=environ, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1]), done.stderr

    return tmp_path, cache, run


def entries(cache):
    return sorted(p for p in cache.iterdir() if p.suffix == ".s2sad")


def test_a_second_process_loads_the_derivative_from_disk(project):
    _, cache, run = project
    first, _ = run()
    assert first["stats"]["transformations"] >= 1
    assert first["stats"]["loaded"] == 0
    assert entries(cache)
    second, _ = run()
    assert second["stats"] == {"transformations": 0,
                               "loaded": first["stats"]["transformations"]}
    assert second["value"] == first["value"]
    assert second["grad"] == first["grad"]
    assert second["source"] == first["source"]


def test_the_loaded_derivative_is_right_and_fresh(project, monkeypatch):
    """Loaded in this process: the gradient matches central differences,
    and a helper changed afterwards is seen, as for one made here."""
    root, cache, run = project
    run()  # writes the entries
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(cache))
    # (the cache as a new process has it: not one an earlier test in this
    # process found broken, nor a derivative it made from the same text)
    monkeypatch.setattr(diskcache, "_STATE", dict(
        diskcache._STATE, broken=False, warned=False, swept=False))
    import cachemodel as model
    try:
        derive.clear_cache()
        before = dict(derive.stats)
        w = np.array([0.3, -0.2, 0.5])
        x = np.arange(9.0).reshape(3, 3) / 10
        grad = s2sad.grad(model.loss)
        g = grad(w, x)
        assert derive.stats["loaded"] > before["loaded"]
        assert derive.stats["transformations"] == before["transformations"]
        expected = [(model.loss(w + e, x) - model.loss(w - e, x)) / 2e-6
                    for e in np.eye(3) * 1e-6]
        np.testing.assert_allclose(g, expected, rtol=1e-6)
        model.squash = lambda z: np.sin(z)  # redefined, as in a notebook
        np.testing.assert_allclose(grad(w, x), [
            (model.loss(w + e, x) - model.loss(w - e, x)) / 2e-6
            for e in np.eye(3) * 1e-6], rtol=1e-6)
    finally:
        for name in ("cachemodel", "cachehelpers"):
            sys.modules.pop(name, None)


@pytest.mark.parametrize("name, old, new, same_values", [
    ("cachemodel.py", "* C\n", "* C * 1.5\n", False),  # the code
    ("cachemodel.py", "    for i", "    # a comment\n    for i", True),
    ("cachehelpers.py", "(k + 1.0)", "(k + 2.0)", False),  # a helper's
    ("cachemodel.py", "C = 2.0", "C = 2", True),  # a global's type
])
def test_a_change_to_what_it_was_made_from_makes_it_again(
        project, name, old, new, same_values):
    root, cache, run = project
    first, _ = run()
    path = root / name
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    second, _ = run()
    assert second["stats"]["transformations"] >= 1
    assert (second["grad"] == first["grad"]) == same_values
    third, _ = run()  # then loaded
    assert third["stats"]["transformations"] == 0
    assert third["grad"] == second["grad"]


def test_a_change_to_what_it_was_not_made_from_keeps_the_entry(project):
    root, cache, run = project
    first, _ = run()
    with open(root / "cachehelpers.py", "a") as file:
        file.write("\n\ndef unused(x):\n    return x\n\nLIMIT = 3\n")
    second, _ = run()
    assert second["stats"]["transformations"] == 0
    assert second["grad"] == first["grad"]


def test_the_key_covers_the_versions(monkeypatch):
    def f(x):
        return x * x
    options = (0, False, False, True, "reverse", True)
    key = diskcache.key(f, options)
    assert key == diskcache.key(f, options)
    assert key != diskcache.key(f, (1,) + options[1:])
    environment = diskcache.environment()
    for k in range(len(environment)):
        changed = environment[:k] + ("other",) + environment[k + 1:]
        monkeypatch.setitem(diskcache._STATE, "environment", changed)
        assert diskcache.key(f, options) != key
    monkeypatch.setenv("S2SAD_CACHE", "0")
    assert diskcache.key(f, options) is None


def test_a_rule_of_the_users_is_part_of_what_it_was_made_from(project):
    root, cache, run = project
    (root / "rules.py").write_text(textwrap.dedent('''
        import numpy as np
        import s2sad
        from s2sad import d

        def soft(x):
            return np.log1p(np.exp(x))

        @s2sad.adjoint(soft)
        def _(y, x):
            d[x] = d[y] * FACTOR / (1.0 + np.exp(-x))

        FACTOR = 1.0
        '''))
    (root / "use.py").write_text(textwrap.dedent('''
        import json
        import numpy as np
        import s2sad
        from s2sad import derive
        import rules

        def f(x):
            return np.sum(rules.soft(x) * x)

        g = s2sad.grad(f)(np.array([0.5, -1.0]))
        print(json.dumps({"grad": g.tolist(), "stats": derive.stats}))
        '''))
    first, _ = run("use.py")
    again, _ = run("use.py")
    assert again["stats"]["transformations"] == 0
    rules = root / "rules.py"
    rules.write_text(rules.read_text().replace("* FACTOR", "* 2.0 * FACTOR"))
    second, _ = run("use.py")
    assert second["stats"]["transformations"] >= 1
    assert second["grad"] != first["grad"]


def test_entries_are_private_whole_and_plain_data(project):
    _, cache, run = project
    run()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]
    for path in entries(cache):
        data = path.read_bytes()
        payload = marshal.loads(data[32:])

        def plain(value):
            if isinstance(value, (tuple, list)):
                return all(map(plain, value))
            if isinstance(value, dict):
                return all(map(plain, value)) and all(map(plain,
                                                          value.values()))
            return value is None or isinstance(value, (
                bool, int, float, complex, str, bytes, types.CodeType))
        assert plain(payload), path
        assert b"pickle" not in data


def test_a_damaged_entry_is_ignored_and_rewritten(project):
    _, cache, run = project
    first, _ = run()
    damaged = {}
    for path in entries(cache):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        damaged[path] = bytes(data)
    second, _ = run()
    assert second["stats"]["loaded"] == 0
    assert second["grad"] == first["grad"]
    for path, data in damaged.items():
        assert path.read_bytes() != data  # rewritten
    third, _ = run()
    assert third["stats"]["transformations"] == 0


def test_truncated_and_foreign_entries_are_ignored(project):
    _, cache, run = project
    first, _ = run()
    paths = entries(cache)
    paths[0].write_bytes(paths[0].read_bytes()[:40])
    for path in paths[1:]:
        path.write_bytes(b"not an entry")
    second, _ = run()
    assert second["grad"] == first["grad"]
    assert second["stats"]["loaded"] == 0


def test_two_processes_racing_on_a_cold_cache(project):
    root, cache, _ = project
    environ = dict(os.environ, S2SAD_CACHE_DIR=str(cache),
                   PYTHONPATH=os.pathsep.join([str(root), REPO]))
    results = []
    for _ in range(3):  # several rounds: the race is not always lost
        for path in entries(cache) if cache.exists() else ():
            path.unlink()
        runs = [subprocess.Popen([sys.executable, "run.py"], cwd=root,
                                 env=environ, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
                for _ in range(4)]
        for proc in runs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            results.append(json.loads(out.splitlines()[-1]))
    assert all(r["grad"] == results[0]["grad"] for r in results)
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]
    for path in entries(cache):
        assert diskcache.read(path.stem) is None or True  # readable
    environ["S2SAD_CACHE_DIR"] = str(cache)
    done = subprocess.run([sys.executable, "run.py"], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=300)
    assert json.loads(done.stdout.splitlines()[-1])["stats"][
        "transformations"] == 0


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_a_read_only_cache_falls_back_to_memory_with_one_warning(project):
    _, cache, run = project
    cache.mkdir()
    cache.chmod(0o500)
    try:
        first, stderr = run()
    finally:
        cache.chmod(0o700)
    assert stderr.count("CacheWarning") == 1
    assert first["stats"]["loaded"] == 0


def test_an_unwritable_cache_falls_back_to_memory_with_one_warning(project):
    """A file where the directory should be: nothing can be written in it
    (as on a read-only or full disk, even for root)."""
    root, cache, run = project
    cache.write_text("a file, not a directory")
    first, stderr = run()
    assert stderr.count("CacheWarning") == 1, stderr
    assert "S2SAD_CACHE_DIR" in stderr
    second, _ = run()
    assert second["grad"] == first["grad"]
    assert second["stats"]["loaded"] == 0


def test_the_cache_can_be_turned_off_and_cleared(project):
    _, cache, run = project
    run(S2SAD_CACHE="0")
    assert not cache.exists()
    run()
    assert entries(cache)
    environ = dict(os.environ, S2SAD_CACHE_DIR=str(cache), PYTHONPATH=REPO)
    done = subprocess.run([sys.executable, "-m", "s2sad", "--clear-cache"],
                          env=environ, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not entries(cache)
    assert str(cache) in done.stdout


def test_clear_cache_with_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(tmp_path))

    def cubed(x):
        return x * x * x
    assert s2sad.grad(cubed)(2.0) == 12.0
    assert entries(tmp_path)
    s2sad.clear_cache(disk=True)
    assert not entries(tmp_path)
    assert s2sad.grad(cubed)(2.0) == 12.0


def test_what_cannot_be_described_stays_in_memory(tmp_path, monkeypatch):
    """A callable object in a cell or a global: what calling it does may
    differ in another process. Its caller gets no entry, and is right; a
    closure reading numbers from its cells gets one (its guard reads them
    from its own cells, as in memory)."""
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(tmp_path))

    class Scale:
        def __call__(self, x):
            return 3.0 * x
    scale = Scale()

    def outer(k):
        def inner(x):
            return k * x * x
        return inner

    def uses_object(x):
        return scale(x) * x

    def has_entry(func):
        key = diskcache.key(func, (0, False, False, True, "reverse", True,
                                    "python", "raise"))
        return os.path.exists(tmp_path / (key + ".s2sad"))
    inner = outer(2.0)
    assert s2sad.grad(inner)(1.5) == 6.0
    assert s2sad.grad(uses_object)(1.5) == 9.0
    assert has_entry(inner)
    assert not has_entry(uses_object)


def _grad_in_process(tmp_path, monkeypatch, directory):
    """Differentiate a fresh function with the cache in `directory`."""
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(directory))
    monkeypatch.setattr(diskcache, "_STATE", dict(
        diskcache._STATE, broken=False, warned=False, swept=False))
    derive.clear_cache()  # (from memory otherwise)

    def quartic(x):
        return x * x * x * x
    return s2sad.grad(quartic)(2.0)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_directory_others_may_write_into_is_not_used(tmp_path,
                                                       monkeypatch):
    """An entry is code s2sad runs: another user must not be able to
    place one."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.warns(diskcache.CacheWarning, match="writable by other"):
        assert _grad_in_process(tmp_path, monkeypatch, shared) == 32.0
    assert not list(shared.iterdir())


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                    reason="needs root to give files to another user")
def test_entries_of_another_user_are_not_read(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    assert _grad_in_process(tmp_path, monkeypatch, cache) == 32.0
    for path in entries(cache):
        os.chown(path, 65534, 65534)
    before = derive.stats["loaded"]
    assert _grad_in_process(tmp_path, monkeypatch, cache) == 32.0
    assert derive.stats["loaded"] == before
    os.chown(cache, 65534, 65534)
    with pytest.warns(diskcache.CacheWarning, match="owned by another"):
        assert _grad_in_process(tmp_path, monkeypatch, cache) == 32.0


def test_clearing_skips_what_is_not_an_entry(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    assert _grad_in_process(tmp_path, monkeypatch, cache) == 32.0
    (cache / ("0" * 64 + ".s2sad")).mkdir()
    assert diskcache.clear() >= 1
    assert [p.is_dir() for p in entries(cache)] == [True]
    monkeypatch.setenv("S2SAD_CACHE_DIR", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a directory")
    assert diskcache.clear() == 0
    s2sad.clear_cache(disk=True)


def test_dead_temporaries_and_old_entries_are_swept(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    dead, fresh = cache / ".tmp-dead", cache / ".tmp-writing"
    dead.write_bytes(b"")
    fresh.write_bytes(b"")
    os.utime(dead, (0, 0))
    old = [cache / f"{k:064x}.s2sad" for k in range(5)]
    for k, path in enumerate(old):
        path.write_bytes(b"x")
        os.utime(path, (k, k))
    monkeypatch.setattr(diskcache, "MAX_ENTRIES", 3)
    assert _grad_in_process(tmp_path, monkeypatch, cache) == 32.0
    assert not dead.exists() and fresh.exists()
    left = entries(cache)
    assert len(left) == 3
    assert [path.exists() for path in old] == [False] * 3 + [True] * 2


def test_a_relative_directory_is_kept_across_chdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("S2SAD_CACHE_DIR", "relative")
    first = diskcache.directory()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert diskcache.directory() == first == str(tmp_path / "relative")
    monkeypatch.delenv("S2SAD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative-xdg")
    assert diskcache.directory() == os.path.join(
        os.path.expanduser("~"), ".cache", "s2sad")

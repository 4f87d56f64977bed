"""The package as users get it: the sdist and the wheel, built without the
network, an unpacked sdist whose tests collect and run, and the wheel
installed into a new virtual environment and used from outside the
repository; and the names `from s2sad import *` brings in.

    python -m pytest -q tests/test_package.py    # about 30 s

The builds need setuptools in this environment (a virtual environment of
Python 3.12 or later has none unless installed), and the wheel a setuptools
that can build one by itself (70.1 or later) or the `wheel` package;
otherwise those tests are skipped, saying so.
"""

import os
import pathlib
import shutil
import site
import subprocess
import sys
import tarfile
import venv
import zipfile

import pytest

import s2sad

ROOT = pathlib.Path(__file__).resolve().parent.parent

# The sdist's own pytest runs (besides collecting every test): test files
# that read the examples, the README and .ci/run, which only MANIFEST.in
# puts into it.
SDIST_TESTS = ["tests/test_seeds.py", "tests/test_readme.py"]


def _can_build_wheels():
    """Whether this setuptools builds wheels without fetching `wheel`."""
    for module in ("setuptools.command.bdist_wheel", "wheel.bdist_wheel"):
        try:
            __import__(module)
        except ImportError:
            continue
        return True
    return False


def _run(args, cwd, env=None, timeout=120):
    """Run `args` in `cwd`; fail the test with its output if it fails."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{args} exited with {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}")
    return result


def _build(kind, source, dist):
    """Build an sdist or a wheel of `source` into `dist` with setuptools'
    PEP 517 backend, in a child process (no build isolation, no network).

    Returns:
        The path of the file built.
    """
    code = ("import sys; from setuptools import build_meta as b; "
            f"print(b.build_{kind}(sys.argv[1]))")
    result = _run([sys.executable, "-c", code, str(dist)], cwd=source)
    return dist / result.stdout.strip().splitlines()[-1]


def _copy_of_the_repository(target):
    """The working tree, without build products, so that a build writes
    nothing into the repository."""
    ignore = shutil.ignore_patterns(
        ".git", "__pycache__", "*.egg-info", "build", "dist", ".venv",
        ".pytest_cache", ".hypothesis")
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist, and the wheel if this setuptools can build one."""
    pytest.importorskip("setuptools", reason="building needs setuptools")
    base = tmp_path_factory.mktemp("build")
    source = _copy_of_the_repository(base / "source")
    dist = base / "dist"
    dist.mkdir()
    sdist = _build("sdist", source, dist)
    wheel = _build("wheel", source, dist) if _can_build_wheels() else None
    return sdist, wheel


def _environment(**extra):
    """The environment for a child process: no PYTHONPATH of ours, and a
    disk cache of its own."""
    env = {key: value for key, value in os.environ.items()
           if key != "PYTHONPATH"}
    env.update(extra)
    return env


def test_the_sdist_holds_what_the_tests_read(built):
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames()
                 if "/" in name}
    for name in ["pyproject.toml", "setup.cfg", "setup.py", "README.md",
                 "LICENSE", "CHANGELOG.md", "s2sad/py.typed",
                 ".ci/run", "tests/conftest.py", "tests/programs.py",
                 "tests/golden/seeds.reverse.txt", "examples/seeds.py",
                 "examples/model_grads.py", "tools/coverage.py",
                 "tools/autograd_numpy_rules.txt"]:
        assert name in names
    assert not [name for name in names if "__pycache__" in name]


def test_the_unpacked_sdist_collects_and_runs_its_tests(built, tmp_path):
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # Python 3.10.12, 3.11.4 on
            archive.extraction_filter = tarfile.data_filter
        archive.extractall(tmp_path)
    (unpacked,) = tmp_path.iterdir()
    env = _environment(PYTHONPATH=str(unpacked),
                       S2SAD_CACHE_DIR=str(tmp_path / "cache"))
    pytest_args = [sys.executable, "-m", "pytest", "-q", "-p",
                   "no:cacheprovider"]
    collected = _run([*pytest_args, "--collect-only"], unpacked, env)
    assert " error" not in collected.stdout.splitlines()[-1]
    _run([*pytest_args, *SDIST_TESTS], unpacked, env)


def _new_environment(path):
    """A virtual environment at `path` that sees this interpreter's
    installed packages (NumPy, gast) after its own, but not an editable
    s2sad installed here (a .pth file of a directory added by another
    .pth file is not read).

    Returns:
        The path of its Python interpreter.
    """
    venv.create(path, with_pip=False)
    python = path / "bin" / "python"
    own = _run([str(python), "-c", "import site; "
                "print(site.getsitepackages()[0])"], path).stdout.strip()
    pathlib.Path(own, "dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n")
    return python


def test_the_wheel_installs_and_works_outside_the_repository(built,
                                                             tmp_path):
    _, wheel = built
    if wheel is None:
        pytest.skip("this setuptools cannot build a wheel without the "
                    "`wheel` package")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(
            name for name in names if name.endswith(".dist-info/METADATA")))
    assert "s2sad/py.typed" in names
    assert not [name for name in names if name.startswith("tests/")]
    metadata = metadata.decode()
    assert f"\nVersion: {s2sad.__version__}\n" in metadata
    assert "\nRequires-Python: >=3.10\n" in metadata
    assert "Classifier: Typing :: Typed" in metadata

    python = _new_environment(tmp_path / "venv")
    # (without our PYTHONPATH, through which pip would find s2sad installed)
    _run([sys.executable, "-m", "pip", "--python", str(python), "install",
          "--no-deps", "--no-index", "--quiet", str(wheel)], tmp_path,
         _environment())
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _environment(S2SAD_CACHE_DIR=str(tmp_path / "cache"))
    used = _run([str(python), "-c", "import s2sad; print(s2sad.__file__); "
                 "print(s2sad.__version__)"], work, env).stdout.split()
    assert used[0].startswith(str(tmp_path / "venv"))
    assert used[1] == s2sad.__version__
    (work / "cube.py").write_text(
        "import s2sad\n\n\n"
        "def cube(x):\n    return x ** 3\n\n\n"
        "print(s2sad.grad(cube)(2.0))\n")
    assert _run([str(python), "cube.py"], work, env).stdout == "12.0\n"
    script = tmp_path / "venv" / "bin" / "s2sad"
    version = _run([str(script), "--version"], work, env).stdout
    assert version == f"s2sad {s2sad.__version__}\n"
    generated = _run([str(script), "cube.py"], work, env).stdout
    assert "def grad_cube(x):" in generated


def test_star_import_brings_in_the_public_api_only():
    namespace = {}
    exec("from s2sad import *", namespace)
    names = set(namespace) - {"__builtins__"}
    assert names == set(s2sad.__all__)
    assert {"grad", "jvp", "adjoint", "tangent", "elementwise",
            "non_differentiable", "custom_vjp", "S2SADError"} <= names
    assert not {"d", "api", "runtime", "optimize", "forward"} & names

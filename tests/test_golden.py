"""Golden files: the generated code of the seed examples and of the typical
models in `examples/models.py` (the programs the benchmarks time), held in
`tests/golden/`, so that any change to generated code is reviewed as a diff.

After a deliberate change to generated code, rewrite the files with

    S2SAD_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

and read `git diff tests/golden` before committing it.
"""

import contextlib
import difflib
import importlib.util
import io
import os
import pathlib

import pytest

import s2sad
from s2sad import cli

GOLDEN = pathlib.Path(__file__).parent / "golden"
ROOT = GOLDEN.parent.parent
UPDATE = os.environ.get("S2SAD_UPDATE_GOLDEN") == "1"


def _models():
    spec = importlib.util.spec_from_file_location(
        "s2sad_example_models", ROOT / "examples" / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command_line(path, *options):
    """What `s2sad FILE [options]` prints."""
    def generate(tmp_path):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert cli.main([str(ROOT / path), *options]) == 0
        return printed.getvalue()
    return generate


def model_code(mode):
    """The generated code of every function in examples/models.py."""
    def generate(tmp_path):
        models = _models()
        return "\n\n\n".join(
            s2sad.show(getattr(models, name), mode=mode, argnums=argnums)
            .rstrip("\n") for name, argnums in models.ARGNUMS.items()) + "\n"
    return generate


CASES = {
    "seeds.reverse.txt": command_line("examples/seeds.py"),
    "seeds.forward.txt": command_line("examples/seeds.py", "--mode",
                                      "forward"),
    "seeds.unoptimised.txt": command_line("examples/seeds.py",
                                          "--no-optimize"),
    "model.reverse.txt": command_line("examples/model.py", "loss",
                                      "--argnums", "0"),
    "models.reverse.txt": model_code("reverse"),
    "models.forward.txt": model_code("forward"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_code_matches_its_golden_file(name, tmp_path):
    # paths in docstrings are relative to the repository, wherever it is
    text = CASES[name](tmp_path).replace(f"{ROOT}{os.sep}", "")
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(text)
    expected = golden.read_text()
    diff = "".join(difflib.unified_diff(
        expected.splitlines(True), text.splitlines(True),
        f"tests/golden/{name}", "generated now"))
    assert not diff, (
        f"generated code changed; if that is intended, rerun with "
        f"S2SAD_UPDATE_GOLDEN=1 and review `git diff tests/golden`:\n{diff}")

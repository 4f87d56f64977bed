"""The README's code blocks, run and checked.

    python -m pytest -q tests/test_readme.py

Every fenced block of README.md is tagged:

- ```python blocks run, in order. The blocks of one `## ` section share a
  namespace (the README says where one continues another); each section
  starts afresh. A block runs from a file of its own, so that s2sad can
  read its functions' source, with the repository's `examples` directory
  on sys.path. A `# -> VALUE` comment states the result of the statement
  it ends, or of the statement before it when it stands on its own line:
  the value of an expression, or the values of an assignment's targets.
  VALUE is Python (`array` is np.array); a number matches when the result
  rounded to the decimals VALUE shows for it is that number (an array:
  the most decimals shown in VALUE). A ```python block directly followed
  by an ```output block must print exactly that block's text (trailing
  blank lines aside).
- ```sh blocks are commands, checked as they can be without running them:
  the first (how to install and test) against `.ci/run`, which runs it;
  the one that writes `examples/model_grads.py` against the command that
  module's header records (`tests/test_aot.py` checks that it is up to
  date); the benchmark commands name tools and options that exist.
- ```text blocks are not run: a synopsis, or output that varies.

The functions and classes of the model example are those of
`examples/model.py`.
"""

import ast
import contextlib
import io
import pathlib
import re
import sys
import tokenize

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_FENCE = re.compile(r"^(\s*)```(\S*)\s*$")


class Block:
    """A fenced block: its tag, `## ` section, first line (1-based, the
    line after the fence) and text (without the fence's indentation)."""

    def __init__(self, tag, section, line, text):
        self.tag, self.section, self.line, self.text = (tag, section, line,
                                                       text)

    def __repr__(self):
        return f"README.md:{self.line} ({self.tag})"


def _blocks():
    """The fenced blocks of README.md, in order."""
    blocks, section, fence = [], "", None
    for number, line in enumerate(README.read_text().splitlines(), 1):
        match = _FENCE.match(line)
        if fence is None:
            if line.startswith("## "):
                section = line[3:].strip()
            elif match:
                fence = (match.group(1), match.group(2), number + 1, [])
        elif match and match.group(2) == "":
            indent, tag, first, lines = fence
            text = "".join(part[len(indent):] + "\n" for part in lines)
            blocks.append(Block(tag, section, first, text))
            fence = None
        else:
            fence[3].append(line)
    assert fence is None, "README.md ends inside a fenced block"
    return blocks


BLOCKS = _blocks()
SECTIONS = list(dict.fromkeys(block.section for block in BLOCKS
                              if block.tag == "python"))


def test_every_block_is_tagged():
    untagged = [block for block in BLOCKS
                if block.tag not in ("python", "sh", "text", "output")]
    assert not untagged, "tag these blocks python, sh or text"
    for before, block in zip(BLOCKS, BLOCKS[1:]):
        if block.tag == "output":
            assert before.tag == "python", f"{block} follows no Python"


def _expectations(source):
    """{line: VALUE text} of the `# -> VALUE` comments of `source`."""
    found = {}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token in tokens:
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            if text.startswith("->"):
                found[token.start[0]] = text[2:].strip()
    return found


def _statement_of(statements, line):
    """The top-level statement a comment on `line` refers to: the one
    ending on that line, else the last one ending before it."""
    before = [stmt for stmt in statements if stmt.end_lineno <= line]
    assert before, f"a `# ->` comment on line {line} follows no statement"
    return before[-1]


def _decimals(text):
    """The most decimals a number in `text` is written with."""
    return max((len(digits) for digits in re.findall(r"\d\.(\d*)", text)),
               default=0)


def _matches(actual, expected, decimals):
    """Whether `actual` is `expected`, as the README writes it."""
    if expected is None:
        return actual is None
    if isinstance(expected, (tuple, list)):
        return (isinstance(actual, type(expected))
                and len(actual) == len(expected)
                and all(_matches(a, e, decimals)
                        for a, e in zip(actual, expected)))
    if isinstance(expected, np.ndarray) != isinstance(actual, np.ndarray):
        return False
    actual, expected = np.asarray(actual), np.asarray(expected)
    return (actual.shape == expected.shape
            and np.array_equal(np.round(actual, decimals), expected))


def _run_block(block, namespace, path):
    """Run `block` in `namespace` from the file `path`, checking its
    `# ->` comments.

    Returns:
        What it printed.
    """
    path.write_text(block.text)
    tree = ast.parse(block.text, str(path))
    expected = _expectations(block.text)
    checks = {}
    for line, text in expected.items():
        checks.setdefault(_statement_of(tree.body, line), []).append(text)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for stmt in tree.body:
            if isinstance(stmt, ast.Expr):
                code = compile(ast.Expression(stmt.value), str(path), "eval")
                result = eval(code, namespace)
            else:
                module = ast.Module([stmt], type_ignores=[])
                exec(compile(module, str(path), "exec"), namespace)
                result = _targets(stmt, namespace)
            for text in checks.get(stmt, []):
                value = eval(text, {"array": np.array})
                where = f"README.md:{block.line + stmt.lineno - 1}"
                assert _matches(result, value, _decimals(text)), (
                    f"{where}: got {result!r}, the README says {text}")
    return printed.getvalue()


def _targets(stmt, namespace):
    """The values an assignment assigned (one, or a tuple), else None."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        return eval(ast.unparse(stmt.targets[0]), namespace)
    return None


@pytest.fixture
def examples_on_path(monkeypatch):
    """`examples/` on sys.path, and its modules forgotten afterwards."""
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        module = getattr(sys.modules[name], "__file__", None) or ""
        if module.startswith(str(ROOT / "examples")):
            del sys.modules[name]


@pytest.mark.parametrize("section", SECTIONS)
def test_python_blocks_of_a_section(section, tmp_path, examples_on_path):
    namespace = {"__name__": "readme_" + re.sub(r"\W+", "_", section)}
    blocks = [(i, block) for i, block in enumerate(BLOCKS)
              if block.tag == "python" and block.section == section]
    for i, block in blocks:
        printed = _run_block(block, namespace,
                             tmp_path / f"readme_line_{block.line}.py")
        after = BLOCKS[i + 1] if i + 1 < len(BLOCKS) else None
        if after is not None and after.tag == "output":
            assert printed.rstrip("\n") == after.text.rstrip("\n"), (
                f"{block} printed {printed!r}")


def _sh_blocks():
    return [block for block in BLOCKS if block.tag == "sh"]


def test_the_first_block_is_what_ci_runs():
    first = BLOCKS[0]
    assert first.tag == "sh" and first.section == ""
    ci = (ROOT / ".ci" / "run").read_text()
    install, test = first.text.splitlines()
    assert install.endswith("pip install -e . && s2sad examples/seeds.py")
    assert test.startswith("python3 -m venv ")
    assert "pip install -e '.[test]' && python -m pytest -q\n" in ci
    assert test.endswith(" && pip install -e '.[test]' && python -m pytest "
                         "-q")


def test_the_command_that_writes_the_model_module():
    (command,) = [block.text.strip() for block in _sh_blocks()
                  if "model_grads" in block.text]
    header = (ROOT / "examples" / "model_grads.py").read_text()
    assert f"\n# Command: {command}\n" in header


def test_the_benchmark_commands_name_what_exists():
    (block,) = [block for block in _sh_blocks() if "peers.py" in block.text]
    for line in block.text.splitlines():
        words = line.split("#")[0].split()
        scripts = [word for word in words if word.startswith("tools/")]
        for script in scripts:
            source = (ROOT / script).read_text()
            for option in (w for w in words if w.startswith("--")):
                assert f'"{option}"' in source, (script, option)
    assert "[bench]" in block.text


def test_the_model_example_is_the_code_of_examples_model_py():
    (block,) = [block for block in BLOCKS
                if "class MLP:" in block.text and block.tag == "python"]

    def definitions(source):
        return {node.name: ast.dump(node) for node in ast.parse(source).body
                if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    shown = definitions(block.text)
    example = definitions((ROOT / "examples" / "model.py").read_text())
    assert {"layer", "MLP", "loss"} <= shown.keys()
    for name, dump in shown.items():
        assert dump == example[name], name

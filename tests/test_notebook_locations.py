"""Locations in a notebook: a cell named as IPython names it.

A function defined in a notebook cell lives in a file the kernel made up
(`/tmp/ipykernel_9971/1079622585.py`); s2sad's messages and notes name its
lines as IPython's tracebacks do, `Cell In[3], line 2`. The notebook runs
in a real kernel (nbclient), with this checkout's s2sad.

Run: python -m pytest -q tests/test_notebook_locations.py
"""

import os
import re

import pytest

import s2sad

CELLS = [
    "import numpy as np\nimport s2sad",
    # In[2]: refused as the gradient is generated
    "def pair(x):\n    y = x * 2.0\n    return y, x",
    "try:\n    s2sad.grad(pair)\nexcept s2sad.S2SADError as exc:\n"
    "    print(exc)",
    # In[4]: an exception in generated code gets a note
    "def picks(x):\n    a = np.array([x, x])\n    return a[3] * x",
    "try:\n    s2sad.grad(picks)(1.0)\nexcept IndexError as exc:\n"
    "    print(*exc.__notes__)",
    # In[6]: a check when the gradient runs (the location in its text)
    "def vector(x):\n    return np.array([x, x])",
    "try:\n    s2sad.grad(vector)(1.0)\nexcept s2sad.S2SADError as exc:\n"
    "    print(exc)",
    # an uncaught exception: IPython's traceback, with the generated line
    "s2sad.grad(picks)(1.0)",
]


@pytest.fixture(scope="module")
def notebook():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    checkout = os.path.dirname(os.path.dirname(s2sad.__file__))
    path = os.pathsep.join(
        [checkout, *filter(None, [os.environ.get("PYTHONPATH")])])
    client = nbclient.NotebookClient(book, timeout=120,
                                     kernel_name="python3",
                                     allow_errors=True)
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = path  # the kernel's s2sad: this one
    try:
        client.execute()
    finally:
        if previous is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = previous
    return book


def _printed(book, k):
    text = "".join(o.get("text", "") for o in book.cells[k].outputs)
    for output in book.cells[k].outputs:
        text += "\n".join(output.get("traceback", ()))
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_a_refusal_names_the_cell(notebook):
    printed = _printed(notebook, 2)
    assert printed.startswith("Cell In[2], line 3: grad of pair requires "
                              "a scalar output, got a tuple"), printed
    assert "ipykernel" not in printed


def test_a_note_names_the_cell(notebook):
    printed = _printed(notebook, 4)
    assert "Cell In[4], line 3: return a[3] * x" in printed, printed
    assert "ipykernel" not in printed


def test_a_check_when_the_gradient_runs_names_the_cell(notebook):
    printed = _printed(notebook, 6)
    assert printed.startswith("Cell In[6], line 2: grad of vector "
                              "requires a scalar output"), printed


def test_the_kernels_traceback_shows_the_generated_line(notebook):
    printed = _printed(notebook, 7)
    assert "IndexError" in printed, printed
    assert "_t2 = a[3]" in printed, printed
    assert "Cell In[4], line 3: return a[3] * x" in printed, printed

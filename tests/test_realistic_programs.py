"""The realistic benchmark programs (tools/realistic.py): every quick
case's hand-written gradient against central differences and against
s2sad's gradient (1e-10 relative to the largest entry), and s2sad's value
against the program's."""

import importlib.util
import pathlib
import sys

import pytest

# loaded from its file: tools/ on sys.path would also make tools/coverage.py
# the `coverage` that Numba imports
TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "realistic.py"
_spec = importlib.util.spec_from_file_location("realistic", TOOL)
realistic = importlib.util.module_from_spec(_spec)
sys.modules["realistic"] = realistic
_spec.loader.exec_module(realistic)

QUICK = [case for case in realistic.CASES if case.quick]


def test_every_kind_has_a_target():
    assert {case.kind for case in realistic.CASES} <= set(realistic.TARGETS)


@pytest.mark.parametrize("case", QUICK, ids=[case.name for case in QUICK])
def test_hand_gradient_and_s2sad(case):
    realistic.check(case)

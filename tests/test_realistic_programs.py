"""The realistic benchmark programs (tools/realistic.py): every quick
case's hand-written gradient against central differences and against
s2sad's gradient (1e-10 relative to the largest entry), and s2sad's value
against the program's."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent
                       / "tools"))
import realistic  # noqa: E402

QUICK = [case for case in realistic.CASES if case.quick]


def test_every_kind_has_a_target():
    assert {case.kind for case in realistic.CASES} <= set(realistic.TARGETS)


@pytest.mark.parametrize("case", QUICK, ids=[case.name for case in QUICK])
def test_hand_gradient_and_s2sad(case):
    realistic.check(case)

"""tools/coverage.py: the NumPy coverage figure the README quotes."""

import importlib.util
import pathlib

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "coverage.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("coverage_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_at_least_95_percent_of_autograds_numpy_functions_are_covered():
    rows = load_tool().autograd_rows()
    covered = [name for name, state in rows if state == "both modes"]
    assert len(rows) == 136
    assert len(covered) / len(rows) >= 0.95


def test_the_array_methods_of_the_issue_have_rules():
    states = dict(load_tool().method_rows())
    assert states["x.round()"] == "zero derivative"
    assert all(state == "both modes" for name, state in states.items()
               if name != "x.round()")


def test_every_public_math_function_is_decided():
    rows = load_tool().math_rows()
    assert len(rows) >= 50
    assert all(state == "both modes" or state.startswith("zero derivative (")
               for _, state in rows), rows


def test_the_scipy_functions_listed_have_rules_in_both_modes():
    import pytest
    pytest.importorskip("scipy")
    rows = load_tool().scipy_rows()
    assert rows and all(state == "both modes" for _, state in rows)

"""Random programs: s2sad's gradient against central differences.

Each example is a program from `tests.programs`, written to its own module,
and a point in [-2, 2] where it is smooth; `s2sad.check_grads` (rtol 1e-6,
atol 1e-8) compares `s2sad.grad(prog, argnums=(0, 1))` with central
differences. A failure shows the point, both gradients and the source.

Examples are derandomized so every run (and CI) tests the same programs
(650 in all, 200 more of every family for the optimiser, and 80 for
vector mode: a batched jvp and a Hessian against the same taken one
direction at a time);
`tools/random_programs.py` runs many more with a chosen seed.
Every program must be differentiated: a refusal fails the test like a wrong
gradient. `check_grads` compares both reverse and forward mode. The optimiser
test also compares the gradient, a JVP and a VJP with and without the
optimiser: passes must never change a result.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import programs

def _settings(max_examples):
    return settings(max_examples=max_examples, deadline=None,
                    derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return programs.ProgramFiles(tmp_path_factory.mktemp("programs"))


@_settings(300)
@given(case=programs.cases())
def test_straight_line_and_branches(files, case):
    programs.check(case, files)


@_settings(100)
@given(case=programs.cases(arrays=True))
def test_array_programs(files, case):
    programs.check(case, files)


@_settings(150)
@given(case=programs.cases(loops=True))
def test_loop_programs(files, case):
    programs.check(case, files)


@_settings(100)
@given(case=programs.cases(loops=True, break_continue=True))
def test_break_and_continue_programs(files, case):
    programs.check(case, files)


@_settings(200)
@given(case=st.one_of(
    programs.cases(), programs.cases(arrays=True),
    programs.cases(loops=True, break_continue=True)))
def test_the_optimiser_changes_no_result(files, case):
    programs.check(case, files, optimizer=True)


@_settings(80)
@given(case=st.one_of(
    programs.cases(), programs.cases(arrays=True),
    programs.cases(loops=True), programs.cases(loops=True,
                                               break_continue=True)))
def test_vector_mode_gives_each_direction(files, case):
    programs.check_vector(case, files)


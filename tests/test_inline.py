"""Small helpers of the caller's file are inlined into its derivative.

A helper called by name (a module-level function of the caller's file) is
differentiated as part of its caller: no generated function of its own, the
float variant kept, one tape. These tests check the class: what is inlined
and what is not, that every mode and order gives the numbers of the
program as written, that a changed helper or global is seen, and that
errors point at the helper's own line.
"""

import inspect
import math
import re
import sys

import numpy as np
import pytest

import s2sad
from s2sad import errors
from tests.conftest import user_location

G = 9.81
DT = 0.01
SCALE = 2.0


def rhs(th, om):
    return om, -G * math.sin(th)


def pendulum(th, om, n):
    for _ in range(n):
        k1a, k1b = rhs(th, om)
        k2a, k2b = rhs(th + 0.5 * DT * k1a, om + 0.5 * DT * k1b)
        th = th + DT * k2a
        om = om + DT * k2b
    return th * om


def square(x):
    return x * x


def shifted(x, by=1.0):
    y = square(x) + by  # a helper calling a helper
    return y


def with_branch(x):
    if x > 0.0:
        return SCALE * x
    return -x


def uses_helpers(x, y):
    a = shifted(x)
    b = shifted(y, 3.0)
    return with_branch(a - b) + square(np.sin(a))


def looped(x, n):
    total = 0.0
    for i in range(n):
        total = total + square(x + i)
    return total


def arrays(w, X):
    return np.sum(square(X @ w))


def numeric(f, args, argnum, h=1e-6):
    """Central differences of f in its argument `argnum` (a float)."""
    up, down = list(args), list(args)
    up[argnum] += h
    down[argnum] -= h
    return (f(*up) - f(*down)) / (2 * h)


CASES = [
    (pendulum, (0.3, 0.1, 20)),
    (uses_helpers, (0.7, -0.2)),
    (uses_helpers, (-0.4, 0.9)),  # the other branch
    (looped, (0.3, 5)),
]


@pytest.mark.parametrize("f, args", CASES,
                         ids=[f"{f.__name__}{i}" for i, (f, _) in
                              enumerate(CASES)])
def test_inlined_helpers_give_the_programs_derivatives(f, args):
    floats = [i for i, a in enumerate(args) if isinstance(a, float)]
    value, grads = s2sad.value_and_grad(f, argnums=tuple(floats))(*args)
    assert value == f(*args)
    for i, g in zip(floats, grads):
        assert g == pytest.approx(numeric(f, args, i), rel=1e-6, abs=1e-8)
        tangents = tuple(1.0 if j == i else 0.0 for j in floats)
        _, dot = s2sad.jvp(lambda *xs: f(*[
            xs[floats.index(j)] if j in floats else a
            for j, a in enumerate(args)]), tuple(args[j] for j in floats),
            tangents)
        assert dot == pytest.approx(g, rel=1e-12, abs=1e-12)
    first = s2sad.grad(f, argnums=floats[0])  # and its derivative
    s2sad.check_grads(lambda x: first(x, *args[1:]), (args[0],))


def test_a_helper_is_inlined_and_the_float_variant_kept():
    source = s2sad.grad(pendulum, argnums=(0, 1)).source
    assert "vjp_rhs" not in source and "rhs(" in source  # in its comments
    assert "Specialised to Python floats" in source
    assert "np.shape" not in source.split("def grad_pendulum_arrays")[0]
    # the comments name the helper's own line and the call's
    line = inspect.getsourcelines(rhs)[1] + 1
    assert f"# grad of line {line}: return om, -G * math.sin(th)" in source


def test_array_helpers_are_inlined_in_every_mode():
    w, X = np.array([0.5, -1.0]), np.array([[1.0, 2.0], [3.0, 4.0]])
    g = s2sad.grad(arrays)(w, X)
    np.testing.assert_allclose(g, 2.0 * X.T @ (X @ w))
    assert "vjp_square" not in s2sad.grad(arrays).source
    s2sad.check_grads(arrays, (w, X), argnums=0)
    s2sad.check_grads(lambda v: s2sad.grad(arrays)(v, X), (w,),
                      modes=("fwd",))
    s2sad.check_grads(lambda v: s2sad.grad(arrays)(v, X)[0], (w,))


def test_unoptimised_code_keeps_each_helpers_derivative():
    source = s2sad.grad(uses_helpers, optimize=False).source
    assert "def vjp_shifted" in source and "def vjp_square" in source


def test_a_redefined_helper_is_seen():
    module = sys.modules[__name__]
    g = s2sad.grad(looped)
    assert g(0.5, 3) == pytest.approx(2 * (0.5 + 1.5 + 2.5))
    old = module.square
    try:
        module.square = lambda v: v * v * v
        assert g(0.5, 3) == pytest.approx(3 * (0.25 + 2.25 + 6.25))
        def square(v):  # noqa: E306 - redefined as in a notebook
            return 4.0 * v
        module.square = square
        assert g(0.5, 3) == pytest.approx(12.0)
    finally:
        module.square = old
    assert g(0.5, 3) == pytest.approx(9.0)


def test_a_changed_global_of_a_helper_is_seen():
    module = sys.modules[__name__]
    g = s2sad.grad(uses_helpers)
    before = g(0.7, -0.2)
    try:
        module.SCALE = np.float32(3.0)  # another type: transformed again
        assert g(0.7, -0.2) == pytest.approx(
            numeric(uses_helpers, (0.7, -0.2), 0), rel=1e-5)
        module.SCALE = 5.0  # the same type: read when the code runs
        assert g(0.7, -0.2) == pytest.approx(
            numeric(uses_helpers, (0.7, -0.2), 0), rel=1e-6)
    finally:
        module.SCALE = 2.0
    assert g(0.7, -0.2) == before


def spread(*vs):
    return sum(v * v for v in vs)


def calls_spread(x):
    return spread(x, 2.0 * x) * 2.0


def recursive(x, n):
    if n == 0:
        return x
    return recursive(x * x, n - 1)


def test_what_is_not_inlined_is_still_differentiated():
    assert s2sad.grad(calls_spread)(1.5) == pytest.approx(2.0 * 10.0 * 1.5)
    assert "vjp_functions(spread" in s2sad.grad(calls_spread).source
    assert s2sad.grad(recursive)(1.1, 2) == pytest.approx(4 * 1.1 ** 3)

    def closure_helper(v):  # from a closure cell: per closure, not inlined
        return 3.0 * v

    def caller(v):
        return closure_helper(v) + 1.0
    assert s2sad.grad(caller)(2.0) == 3.0


def fails_inside(a):
    b = np.linalg.inv(a)
    return np.sum(b)


def calls_failing(a):
    c = fails_inside(a) + 1.0
    return c


def _notes(exc):
    if sys.version_info >= (3, 11):
        return "\n".join(getattr(exc, "__notes__", ()))
    return str(exc)


def _line(func, text):
    lines, first = inspect.getsourcelines(func)
    return first + next(i for i, line in enumerate(lines) if text in line)


def test_an_error_in_an_inlined_helper_names_its_line_and_the_call():
    with pytest.raises(np.linalg.LinAlgError) as info:
        s2sad.grad(calls_failing)(np.ones((2, 2)))
    note = _notes(info.value)
    call = f"{__file__}:{_line(calls_failing, 'fails_inside(a)')}"
    inner = f"{__file__}:{_line(fails_inside, 'np.linalg.inv')}"
    assert call in note and inner in note
    assert note.index(call) < note.index(inner)


def refuses_inside(x):
    y = np.linalg.pinv(x)
    return np.sum(np.real(y))


def calls_refused(x):
    return refuses_inside(x) * 2.0


def test_a_refusal_in_an_inlined_helper_names_its_line():
    a = np.array([[1.0 + 1.0j, 2.0], [0.5, 1.0j]])
    with pytest.raises(errors.S2SADError) as info:
        s2sad.grad(calls_refused)(a)
    assert user_location(info.value) == (
        __file__, _line(refuses_inside, "np.linalg.pinv"))


def accel(x):
    return -G * x


def shadows_a_global(x, G):  # noqa: N803 - the helper's global's name
    return accel(x) + G


def clipped(a):
    return max(a, 0.0) + abs(a)


def shadows_builtins(x):
    y = clipped(x)
    max = x * 2.0  # noqa: A001 - a local named as the helper's builtin
    return y + max


def test_a_helper_reads_its_globals_whatever_the_callers_locals_are():
    # Python's scoping: the helper's G and max are the module's
    for f, args in [(shadows_a_global, (1.0, 2.0)),
                    (shadows_builtins, (0.7,)), (shadows_builtins, (-0.7,))]:
        value, g = s2sad.value_and_grad(f)(*args)
        assert value == f(*args)
        assert g == pytest.approx(numeric(f, args, 0), rel=1e-6)


def nested_lines(x):
    return shifted(x, 2.0) * 3.0


def test_nested_helpers_keep_their_own_lines():
    source = s2sad.grad(nested_lines).source
    with open(__file__) as own:
        lines = own.read().splitlines()
    comments = re.findall(r"# grad of line (\d+): (.*)", source)
    assert ("41", "return x * x") in comments or any(
        text == "return x * x" for _, text in comments)
    for number, text in comments:  # each names its own line of this file
        assert lines[int(number) - 1].strip() == text


# ---- methods of module-level objects ----

class Arm:
    """A planar robot arm: its links' lengths, its tip for joint angles."""

    def __init__(self, lengths):
        self.lengths = lengths

    @property
    def reach(self):  # computed on each read: not taken for a plain value
        return sum(self.lengths)

    def tip(self, angles):
        x = 0.0
        y = 0.0
        phi = 0.0
        for i in range(len(self.lengths)):
            phi = phi + angles[i]
            x = x + self.lengths[i] * math.cos(phi)
            y = y + self.lengths[i] * math.sin(phi)
        return x, y

    def scaled_tip(self, angles):
        x, y = self.tip(angles)  # (`self.tip`: called as it is)
        return x / self.reach, y / self.reach


ARM = Arm([1.0, 0.8, 0.5, 0.3])
GOAL = (1.2, 0.9)


def reach_loss(angles):
    x, y = ARM.tip(angles)
    return (x - GOAL[0]) ** 2 + (y - GOAL[1]) ** 2


def scaled_loss(angles):
    x, y = ARM.scaled_tip(angles)
    return x * x + y * y


def arm_loss_by_hand(angles, lengths=None, goal=GOAL):
    """The gradient of `reach_loss` written out: each angle moves the
    links after it."""
    lengths = ARM.lengths if lengths is None else lengths
    phis = np.cumsum(angles)
    x = sum(l * math.cos(p) for l, p in zip(lengths, phis))
    y = sum(l * math.sin(p) for l, p in zip(lengths, phis))
    dx, dy = 2 * (x - goal[0]), 2 * (y - goal[1])
    per_link = np.array([-dx * l * math.sin(p) + dy * l * math.cos(p)
                         for l, p in zip(lengths, phis)])
    return np.cumsum(per_link[::-1])[::-1]


def test_a_method_of_a_module_level_object_is_inlined():
    angles = np.array([0.3, 0.2, -0.1, 0.4])
    g = s2sad.grad(reach_loss)
    np.testing.assert_allclose(g(angles), arm_loss_by_hand(angles),
                               rtol=1e-12)
    value, grad = s2sad.value_and_grad(reach_loss)(angles)
    assert value == reach_loss(angles)
    source = g.source
    assert "vjp_tip" not in source  # one function, one tape
    # the link lengths read as the arm's, kept on the number path
    assert "ARM.lengths[" in source and "runtime.shape" not in \
        source.split("def grad_reach_loss_arrays")[0]
    s2sad.check_grads(reach_loss, (angles,), modes=("fwd", "rev"), order=2)


def test_an_inlined_methods_object_changed_is_seen():
    angles = np.array([0.3, 0.2, -0.1, 0.4])
    module = sys.modules[__name__]
    g = s2sad.grad(reach_loss)
    g(angles)
    old = module.ARM
    try:
        ARM.lengths[1] = 0.6  # read when the code runs
        np.testing.assert_allclose(g(angles), arm_loss_by_hand(angles),
                                   rtol=1e-12)
        ARM.lengths = [2.0, 1.0]  # another list, two links
        np.testing.assert_allclose(g(angles[:2]),
                                   arm_loss_by_hand(angles[:2]), rtol=1e-12)
        ARM.lengths = np.array([1.0, 0.5, 0.25])  # another kind
        np.testing.assert_allclose(g(angles[:3]),
                                   arm_loss_by_hand(angles[:3]), rtol=1e-12)
        ARM.lengths = [1.0, np.array(0.5), 1]  # items not floats
        np.testing.assert_allclose(g(angles[:3]),
                                   arm_loss_by_hand(angles[:3]), rtol=1e-12)
        module.ARM = Arm([0.5, 0.5])  # another object
        np.testing.assert_allclose(g(angles[:2]),
                                   arm_loss_by_hand(angles[:2]), rtol=1e-12)

        class Other(Arm):  # another class, whose tip differs
            def tip(self, angles):
                return angles[0] * 2.0, angles[1] * 3.0
        module.ARM = Other([1.0])
        expected = [4 * (2 * angles[0] - GOAL[0]),
                    6 * (3 * angles[1] - GOAL[1]), 0.0, 0.0]
        np.testing.assert_allclose(g(angles), expected, rtol=1e-12)
        module.ARM = Arm([1.0, 0.8, 0.5, 0.3])

        def tip(self, angles):  # the method redefined, as in a notebook
            return angles[0], angles[1]
        Arm.tip, saved = tip, Arm.tip
        try:
            np.testing.assert_allclose(
                g(angles), [2 * (angles[0] - GOAL[0]),
                            2 * (angles[1] - GOAL[1]), 0.0, 0.0])
        finally:
            Arm.tip = saved
    finally:
        module.ARM = old
        ARM.lengths = [1.0, 0.8, 0.5, 0.3]
    np.testing.assert_allclose(g(angles), arm_loss_by_hand(angles),
                               rtol=1e-12)


def test_a_method_reading_a_property_or_calling_its_own_is_right():
    angles = np.array([0.3, 0.2, -0.1, 0.4])
    s2sad.check_grads(scaled_loss, (angles,), modes=("fwd", "rev"))
    assert s2sad.value_and_grad(scaled_loss)(angles)[0] == \
        scaled_loss(angles)


LINKS = [1.0, 0.8, 0.5]
DATA = np.array([0.5, -1.0, 2.0, 0.25])


def over_links(angles):
    phi, x = 0.0, 0.0
    for i in range(len(LINKS)):
        phi = phi + angles[i]
        x = x + LINKS[i] * math.cos(phi)
    return x


def over_data(a):
    s = 0.0
    for t in range(1, len(DATA)):
        s = s + (DATA[t] - a * DATA[t - 1]) ** 2
    return s


def test_module_level_lists_and_arrays_of_floats_keep_the_number_path():
    angles = np.array([0.3, 0.2, -0.1])
    g = s2sad.grad(over_links)
    s2sad.check_grads(over_links, (angles,), modes=("fwd", "rev"))
    source = g.source.split("def grad_over_links_arrays")[0]
    assert "runtime.is_vector(LINKS)" in source
    assert "runtime.shape" not in source
    # read again going back, not taped
    assert "_tape" not in source or "LINKS[i]" in source.split(
        "reversed")[1]
    # (the first angle turns every link)
    expected = -sum(LINKS[i] * math.sin(sum(angles[:i + 1]))
                    for i in range(3))
    assert g(angles)[0] == pytest.approx(expected, rel=1e-12)
    assert s2sad.grad(over_data)(0.3) == pytest.approx(
        numeric(over_data, (0.3,), 0), rel=1e-7)
    assert "runtime.is_vector(DATA)" in s2sad.grad(over_data).source
    module = sys.modules[__name__]
    try:
        module.LINKS = [1.0, np.array([0.5, 2.0]), 0.5]  # not numbers
        with pytest.raises(errors.GradientShapeError):
            g(angles)  # (x is an array: the general code says so)
        module.LINKS = (2.0, 1.0, 1)  # a tuple, an int: the general code
        s2sad.check_grads(over_links, (angles,), modes=("rev",))
        np.testing.assert_allclose(g(angles), s2sad.grad(
            over_links, optimize=False)(angles), rtol=1e-12)
    finally:
        module.LINKS = [1.0, 0.8, 0.5]


class Pendulum:
    """A pendulum stepped by its own methods, one calling another."""

    def __init__(self, dt, g, length):
        self.dt, self.g, self.length = dt, g, length

    def accel(self, th):
        return -self.g / self.length * math.sin(th)

    def step(self, th, om):
        om = om + self.dt * self.accel(th)
        th = th + self.dt * om
        return th, om


SIM = Pendulum(0.01, 9.81, 1.0)


def swing(th, om, n):
    for _ in range(n):
        th, om = SIM.step(th, om)
    return th * th + 0.1 * om


def test_a_method_calling_its_objects_methods_is_inlined_whole():
    args = (0.3, 0.1, 40)
    value, grads = s2sad.value_and_grad(swing, argnums=(0, 1))(*args)
    assert value == swing(*args)
    for i in (0, 1):
        assert grads[i] == pytest.approx(numeric(swing, args, i), rel=1e-6)
    source = s2sad.grad(swing, argnums=(0, 1)).source
    assert "vjp" not in source and "SIM.accel" not in source
    assert "runtime.shape" not in source.split("def grad_swing_arrays")[0]
    s2sad.check_grads(lambda th: swing(th, 0.1, 5), (0.3,),
                      modes=("fwd", "rev"), order=2)
    g = s2sad.grad(swing)
    before = g(*args)

    class Stiffer(Pendulum):  # its own accel, called by the same step
        def accel(self, th):
            return -4.0 * self.g * th

    module = sys.modules[__name__]
    try:
        module.SIM = Stiffer(0.01, 9.81, 1.0)
        assert g(*args) == pytest.approx(numeric(swing, args, 0), rel=1e-6)
        module.SIM = Pendulum(0.01, 9.81, 1.0)
        assert g(*args) == before  # another object, the same class
        SIM.g = 1.62  # the moon's: read when the code runs
        assert g(*args) == pytest.approx(numeric(swing, args, 0), rel=1e-6)
    finally:
        module.SIM = Pendulum(0.01, 9.81, 1.0)


def test_a_new_object_of_the_same_class_each_call_is_no_new_derivative():
    # a training loop that makes its model anew each step: the code reads
    # the object by name when it runs, so only the method's function and
    # its binding to that object are checked
    from s2sad import derive
    angles = np.array([0.3, 0.2, -0.1, 0.4])
    module = sys.modules[__name__]
    g = s2sad.grad(reach_loss)
    g(angles)
    made = derive.stats["transformations"] + derive.stats["loaded"]
    try:
        for lengths in ([1.0, 0.8, 0.5, 0.3], [0.5, 0.5], [2.0, 1.0, 1.0]):
            module.ARM = Arm(lengths)
            np.testing.assert_allclose(
                g(angles[:len(lengths)]),
                arm_loss_by_hand(angles[:len(lengths)], lengths), rtol=1e-12)
        assert derive.stats["transformations"] + derive.stats["loaded"] \
            == made
        other = Arm([1.0])
        other.tip = lambda a: (a[0], a[1])  # the object's own: not the class's
        module.ARM = other
        np.testing.assert_allclose(g(angles), [
            2 * (angles[0] - GOAL[0]), 2 * (angles[1] - GOAL[1]), 0.0, 0.0])
        elsewhere = Arm([1.0])
        module.ARM.tip = elsewhere.tip  # bound to another object
        np.testing.assert_allclose(g(angles), [
            -2 * math.sin(angles[0]) * (math.cos(angles[0]) - GOAL[0]) +
            2 * math.cos(angles[0]) * (math.sin(angles[0]) - GOAL[1]),
            0.0, 0.0, 0.0], atol=1e-15)
    finally:
        module.ARM = Arm([1.0, 0.8, 0.5, 0.3])


class Stepper:
    def __init__(self):
        self.dt = 0.1

    def halve(self):  # changes the object: not inlined, called as it is
        self.dt = self.dt / 2

    def step(self, x):
        dt = self.dt  # read before the call that changes it
        self.halve()
        return x * dt


STEPPER = Stepper()


def halving_loss(x):
    return STEPPER.step(x) * x


def test_an_attribute_read_before_a_call_changing_it_keeps_its_value():
    try:
        STEPPER.dt = 0.1
        value, grad = s2sad.value_and_grad(halving_loss)(1.5)
        assert STEPPER.dt == 0.05  # (the call ran, once)
        STEPPER.dt = 0.1
        assert value == halving_loss(1.5) == pytest.approx(0.225)
        assert grad == pytest.approx(2 * 1.5 * 0.1)
    finally:
        STEPPER.dt = 0.1


COUNTS = [3, 1, 4, 1, 5, 9, 2, 6]


def poisson_ll(lam):
    tot = 0.0
    for k in COUNTS:
        tot = tot + k * math.log(lam) - lam
    return tot


def poisson_ll_of(lam, counts):
    tot = 0.0
    for t in range(len(counts)):
        tot = tot + counts[t] * math.log(lam) - lam
    return tot


def test_counts_keep_the_number_path():
    # data of ints (counts), module-level or an argument, list or array,
    # has numbers for items as data of floats has
    expected = sum(COUNTS) / 2.5 - len(COUNTS)
    g = s2sad.grad(poisson_ll)
    assert g(2.5) == pytest.approx(expected, rel=1e-14)
    source = g.source.split("def grad_poisson_ll_arrays")[0]
    assert "runtime.is_real_vector(COUNTS)" in source
    assert "runtime.shape" not in source
    h = s2sad.grad(poisson_ll_of)
    for counts in (COUNTS, np.array(COUNTS), tuple(float(k) for k in COUNTS)):
        assert h(2.5, counts) == pytest.approx(expected, rel=1e-14)
    assert "runtime.is_real_vector(counts)" in h.source
    module = sys.modules[__name__]
    try:  # not numbers: the general code, which says what it is given
        module.COUNTS = [3, True, 4]
        assert g(2.5) == pytest.approx(8 / 2.5 - 3, rel=1e-14)
    finally:
        module.COUNTS = [3, 1, 4, 1, 5, 9, 2, 6]

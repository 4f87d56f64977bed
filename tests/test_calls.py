"""Calls into the user's own code: each callee gets its own generated
derivative, called by name when known at transformation time and dispatched
at run time otherwise (functions passed as values, methods, recursion)."""

import statistics

import numpy as np
import pytest

import s2sad
from s2sad import d

# ---- callees ----


def scaled_square(x, scale=2.0):
    return scale * x * x


def with_keyword_only(x, *, power=3, offset=0.0):
    return x ** power + offset


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def is_even_sum(x, n):  # mutual recursion, with is_odd_sum
    if n == 0:
        return x
    return np.sin(is_odd_sum(x, n - 1))


def is_odd_sum(x, n):
    if n == 0:
        return x * x
    return is_even_sum(x, n - 1) * x


def polar(r, t):
    return r * np.cos(t), r * np.sin(t)


def apply(fn, x):
    return fn(x)


class Affine:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, x):
        return np.tanh(self.w @ x + self.b)


LAYER = Affine(np.array([[0.5, -1.0], [0.3, 0.8]]), np.array([0.1, -0.2]))


class TwoLayer:
    """A model whose parameters are its forward method's argument."""

    def forward(self, params, x):
        h = np.tanh(params["w1"] @ x + params["b1"])
        return params["w2"] @ h


# ---- callers ----


def calls_with_defaults(x):
    return scaled_square(x) + scaled_square(x, scale=3.0) + np.sin(x)


def calls_keyword_only(x):
    return with_keyword_only(x) + with_keyword_only(x, power=2, offset=1.0)


def calls_power(x):
    return power(x, 3)


def calls_mutual(x):
    return is_even_sum(x, 3)


def unpacks_result(r, t):
    a, b = polar(r, t)
    return a * b + a


def passes_functions(x):
    return apply(scaled_square, x) + apply(np.sin, x) + apply(abs, x)


def calls_in_loop(x):
    total = 0.0
    for k in range(4):
        total = total + scaled_square(x, scale=k + 1.0) * x
    return total


def calls_argument(f, x):
    return f(x) * x


def global_method(x):
    return np.sum(LAYER.forward(x) ** 2)


def argument_method(layer, x):
    return np.sum(layer.forward(x) * x)


def variable_callee(x):
    g = scaled_square
    if x > 0:
        g = np.exp
    return g(x)


def rich_signature(x, *scales, power=2, **unused):
    total = x ** power
    for s in scales:
        total = total * s
    return total


def star_call_sites(x, y):
    args = (x, 2.0, 0.5)
    options = {"power": 3}
    return rich_signature(*args, **options) + scaled_square(*[y], scale=x)


def keywords_out_of_order(x, y):
    return scaled_square(scale=y, x=x) + polar(t=x, r=y)[1]


def splat_into_plain(x, y):
    pair = (x, y)
    return polar(*pair)[0] * polar(*pair)[1]


CASES = [
    (star_call_sites, (0.7, 1.3)),
    (splat_into_plain, (1.2, 0.4)),
    (keywords_out_of_order, (1.2, 0.4)),
    (calls_with_defaults, (1.3,)),
    (calls_keyword_only, (0.7,)),
    (calls_power, (1.7,)),
    (calls_mutual, (0.6,)),
    (unpacks_result, (1.2, 0.4)),
    (passes_functions, (0.9,)),
    (calls_in_loop, (0.8,)),
    (global_method, (np.array([0.3, -0.6]),)),
    (variable_callee, (0.4,)),
    (variable_callee, (-0.4,)),
]


@pytest.mark.parametrize("func,args", CASES,
                         ids=lambda c: getattr(c, "__name__", ""))
def test_calls_match_central_differences(func, args):
    s2sad.check_grads(func, args)


def test_function_argument():
    s2sad.check_grads(calls_argument, (scaled_square, 1.1), argnums=(1,))
    s2sad.check_grads(calls_argument, (np.tanh, 1.1), argnums=(1,))


def test_method_of_an_argument_object():
    x = np.array([0.2, 0.7])
    s2sad.check_grads(argument_method, (LAYER, x), argnums=(1,))


def test_recursion_gives_the_exact_power_rule():
    assert s2sad.grad(power)(2.0, 5) == 5 * 2.0 ** 4
    value, tangent = s2sad.jvp(power, (2.0, 5), (1.0, None))
    assert (value, tangent) == (32.0, 80.0)


def test_two_layer_model_class_with_parameter_dict():
    rng = np.random.default_rng(0)
    params = {"w1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(4),
              "w2": rng.standard_normal((2, 4))}
    model, x = TwoLayer(), rng.standard_normal(3)

    def loss(params, x):
        return np.sum(model.forward(params, x) ** 2)
    grads = s2sad.grad(loss)(params, x)
    assert isinstance(grads, dict) and set(grads) == set(params)
    s2sad.check_grads(loss, (params, x), argnums=(0,))


def through_keyword_only(x):
    return with_keyword_only(x, offset=x * x, power=2) * x


def test_a_keyword_only_parameter_is_differentiated_by_its_name():
    # 2 x^3 at 1.5, in every mode and at second order
    assert s2sad.grad(through_keyword_only)(1.5) == pytest.approx(6 * 2.25)
    s2sad.check_grads(through_keyword_only, (1.5,))
    assert s2sad.hessian(through_keyword_only)(1.5) == pytest.approx(18.0)
    second = s2sad.grad(s2sad.jacfwd(through_keyword_only))(1.5)
    assert second == pytest.approx(18.0)


def test_differentiating_through_varargs():
    def through_varargs(x, y):
        return rich_signature(x, y, 2.0, x * y, power=3)
    s2sad.check_grads(through_varargs, (0.7, 1.3))
    g = s2sad.grad(rich_signature)(0.7, 1.3, 0.4)  # with respect to x
    assert g == pytest.approx(2 * 0.7 * 1.3 * 0.4)


def test_generated_source_has_one_function_per_user_function():
    source = s2sad.grad(calls_with_defaults).source
    assert source.count("def vjp_scaled_square(x, scale=2.0):") == 1
    assert source.count("def vjp_bwd_scaled_square(") == 1
    assert "vjp_scaled_square(x, scale=3.0)" in source
    forward = s2sad.show(calls_with_defaults, mode="forward")
    assert forward.count("def jvp_scaled_square(x, scale=2.0, *, x_dot):") == 1


def test_a_callee_is_transformed_once_and_reused():
    s2sad.grad(calls_with_defaults)
    before = s2sad.api.stats["transformations"]

    def another(x):
        return scaled_square(x, 4.0)
    assert s2sad.grad(another)(1.5) == 12.0
    assert s2sad.api.stats["transformations"] == before + 1


def test_second_order_through_a_call():
    hessian = s2sad.hessian(calls_with_defaults)(0.8)
    assert np.isclose(hessian, 4.0 + 6.0 - np.sin(0.8))


# ---- regressions found by adversarial testing ----

def appender(items, value):
    items.append(value)


def mutates_through_a_helper(x):
    items = [x]
    appender(items, x * 2.0)
    return sum(items)


def mutates_through_a_bound_method(x):
    items = [x]
    push = items.append
    push(x * 2.0)
    return sum(items)


def test_changes_made_for_their_effect_are_refused_where_they_happen():
    with pytest.raises(s2sad.S2SADError, match=r"test_calls.py:\d+: "
                       r"`.append\(\)` on `items` would also change the "
                       "caller's argument"):
        s2sad.grad(mutates_through_a_helper)(0.7)
    with pytest.raises(s2sad.S2SADError, match="for its effect"):
        s2sad.grad(mutates_through_a_bound_method)(0.7)


def make_scaled_sine(k):
    def scaled_sine(t, k=k):
        return k * np.sin(t)
    return scaled_sine


SINE_2, SINE_3 = make_scaled_sine(2.0), make_scaled_sine(3.0)


def two_defaults(x):
    return SINE_2(x) + SINE_3(x)


def lambdas_with_defaults(x):
    fns = []
    for i in range(3):
        fns.append(lambda t, i=i: t * i)
    return fns[1](x) + fns[2](x)


def test_default_values_belong_to_the_function_object():
    assert s2sad.grad(two_defaults)(0.7) == pytest.approx(5 * np.cos(0.7))
    assert s2sad.jvp(two_defaults, (0.7,), (1.0,))[1] == pytest.approx(
        5 * np.cos(0.7))
    assert s2sad.grad(SINE_3)(0.0) == 3.0 and s2sad.grad(SINE_2)(0.0) == 2.0
    assert s2sad.grad(lambdas_with_defaults)(0.7) == 3.0


def square_rule_7(x):
    return x * x


def rule_through_values(x):
    g = square_rule_7
    return g(x) + apply(square_rule_7, x)


def test_a_rule_wins_when_the_function_is_a_value():
    # registered here, not at import, so the registry test does not see it
    @s2sad.adjoint(square_rule_7)
    def square_rule_7_rev(y, x):
        d[x] = d[y] * 7.0  # deliberately not the source's derivative
    assert s2sad.grad(rule_through_values)(1.0) == 14.0


def hessian_through_recursion(x):
    return power(x, 3)


def test_any_order_through_run_time_dispatch():
    # recursion is dispatched at run time: each order differentiates the
    # derivative functions the order below found
    assert s2sad.hessian(hessian_through_recursion)(1.3) == pytest.approx(
        6 * 1.3, rel=1e-14)
    third = s2sad.grad(s2sad.grad(s2sad.grad(hessian_through_recursion)))
    assert third(1.3) == pytest.approx(6.0, rel=1e-14)
    jvp_of_grad = s2sad.jvp(s2sad.grad(hessian_through_recursion), (1.3,),
                            (1.0,))
    assert jvp_of_grad[1] == pytest.approx(6 * 1.3, rel=1e-14)


class Scaled:
    def __init__(self, w):
        self.w = w

    def __call__(self, x):
        return np.tanh(self.w * x)


SCALED = Scaled(0.5)


def calls_an_instance(x):
    return SCALED(x) + apply(SCALED, x)


def test_an_instance_with_call_is_a_function():
    s2sad.check_grads(calls_an_instance, (0.7,))
    assert "def vjp_Scaled(self, x):" in s2sad.grad(calls_an_instance).source


def fills_in_place(x):
    out = np.zeros(3)
    out.fill(x)  # refused: NumPy writing into an array
    return np.sum(out)


def refused_callee_in_a_branch(x, careful):
    if careful:
        return x * x
    return fills_in_place(x)


def test_a_refused_callee_in_a_branch_is_refused_only_if_it_runs():
    # the branch that calls it is not taken: differentiated as written
    assert s2sad.grad(refused_callee_in_a_branch)(3.0, True) == 6.0
    # taken: refused where the callee's code is, naming the caller's line
    with pytest.raises(s2sad.S2SADError, match=r"\.fill\(\)") as info:
        s2sad.grad(refused_callee_in_a_branch)(3.0, False)
    assert "reached from" in str(info.value)
    assert "return fills_in_place(x)" in str(info.value)


def averages_with_the_standard_library(x):
    return statistics.mean([x, 2.0 * x])


def test_a_refusal_in_a_librarys_code_is_said_at_the_users_line():
    # the function called is named at the user's line, then the library's
    # lines, and what the user can do (its own advice is for its code)
    with pytest.raises(s2sad.S2SADError) as info:
        s2sad.grad(averages_with_the_standard_library)(1.0)
    message = str(info.value)
    line = averages_with_the_standard_library.__code__.co_firstlineno + 1
    assert message.startswith(
        f"{__file__}:{line}: `statistics.mean`, which this line calls, has "
        "no derivative rule, and s2sad cannot differentiate its code "
        f"({statistics.__file__}:"), message
    assert message.endswith("give it a rule (`@s2sad.adjoint(fn)`, or "
                            "s2sad.custom_vjp for a function of your own "
                            "calling it), or compute it with functions "
                            "s2sad differentiates"), message
    assert "reached from" not in message


SCALES = np.array([2.0])
CALLS = [0]


def _set_scale(value):
    SCALES[0] = value


def _count_calls():
    CALLS[0] += 1


def rescales_while_it_runs(x):
    _set_scale(5.0)
    r = SCALES[0] * x * x
    _set_scale(2.0)
    return r


def counts_its_calls(x):
    _count_calls()
    return SCALES[0] * x * x


def test_a_call_changing_a_global_this_function_reads_is_refused():
    # the backward sweep reads SCALES again, after the second call: 2 x,
    # where Python's derivative is 5 x
    with pytest.raises(s2sad.S2SADError,
                       match="`_set_scale` changes the module global "
                       "`SCALES`, which this function reads"):
        s2sad.grad(rescales_while_it_runs)(0.7)
    # a global it does not read may change
    assert s2sad.grad(counts_its_calls)(0.7) == pytest.approx(2.8)
    assert SCALES[0] == 2.0

"""NumPy functions beyond the rule tables' random inputs: NaN-ignoring
reductions on inputs holding NaN, order statistics, where=/initial= of
reductions, ufunc methods, convolution, interpolation, polynomials,
integration, np.r_ and np.c_, np.select, np.append,
np.gradient; each checked at first order and at
second order (the gradient differentiated again, both modes) against central
differences."""

import numpy as np
import pytest

import s2sad

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 4))
W3 = RNG.standard_normal(3)
NAN = np.array([[False, True, False, False], [True, False, False, True],
                [False, False, False, False]])
MASK = np.array([[True, False, True, True], [False, True, True, False],
                 [True, True, False, True]])
C32 = RNG.standard_normal((3, 2))
C10 = RNG.standard_normal(10)


def with_nans(x):
    return np.where(NAN, np.nan, x)


def f_nansum(x):
    return np.sum(np.nansum(with_nans(x), axis=1) * W3)


def f_nanmean(x):
    return np.nanmean(with_nans(x) ** 2)


def f_nanprod(x):
    return np.sum(np.nanprod(with_nans(x), axis=1) * W3)


def f_nancumsum(x):
    return np.sum(np.nancumsum(with_nans(x), axis=1) * np.cos(x))


def f_nancumprod(x):
    return np.sum(np.nancumprod(with_nans(x)) * np.arange(12.0))


def f_nanvar(x):
    return np.sum(np.nanvar(with_nans(x), axis=1, ddof=1) * W3)


def f_nanstd(x):
    return np.nanstd(with_nans(x))


def f_nanmax(x):
    return np.sum(np.nanmax(with_nans(x), axis=1) * W3)


def f_nanmin(x):
    return np.nanmin(with_nans(x * x))


def f_nanmedian(x):
    return np.sum(np.nanmedian(with_nans(x), axis=1) * W3)


def f_quantiles(x):
    return np.sum(np.quantile(x * x, [0.2, 0.9], axis=1,
                              method="median_unbiased") ** 2)


def f_percentile(x):
    return np.nanpercentile(with_nans(np.sin(x)), 35.0)


def f_sum_where(x):
    return np.sum(np.sum(x * x, axis=1, where=MASK) * W3)


def f_mean_where(x):
    return np.sum(np.mean(np.sin(x), axis=0, where=MASK, keepdims=True))


def f_max_initial_where(x):
    return np.sum(np.max(x, axis=1, where=MASK, initial=-0.2) * W3)


def f_min_initial(x):
    return np.min(x, initial=np.sum(x))


def f_ptp(x):
    return np.sum(np.ptp(x * x, axis=0) ** 2)


def f_r(x):
    return np.sum(np.r_[x, C32, 2.0 * x] ** 2)


def f_r_slice(x):
    return np.sum(np.sin(np.r_[x[0], C10, 1:10]))


def f_c(x):
    return np.sum(np.c_[x, C32, x] ** 3)


def f_r_directive(x):
    return np.sum(np.r_["0,2", x[0], x[1]] * np.cos(np.r_[2.0, x[2]][1:]))


def f_select(x):
    return np.sum(np.select([x > 0, x < -0.5], [x ** 2, np.sin(x)],
                            default=x[0]) * np.cos(x))


def f_append(x):
    return np.sum(np.append(x, x[:1] ** 2, axis=0) ** 2)


def f_append_flat(x):
    return np.sum(np.append(x[0], 3.0 * x) * np.arange(16.0))


def f_gradient(x):
    dx, dy = np.gradient(x * x)
    return np.sum(dx * np.cos(x)) + np.sum(dy ** 2)


def f_gradient_axis(x):
    return np.sum(np.gradient(x ** 3, axis=1, edge_order=2) * np.sin(x))


def f_add_reduce(x):
    return np.sum(np.add.reduce(x * x) * np.arange(4.0))


def f_multiply_accumulate(x):
    return np.sum(np.multiply.accumulate(x, axis=1) * np.cos(x))


def f_maximum_accumulate(x):
    return np.sum(np.maximum.accumulate(x ** 3) * np.cos(x))


def f_minimum_reduce(x):
    return np.sum(np.minimum.reduce(x, axis=1, initial=0.5) ** 2)


def f_logsumexp(x):
    return np.sum(np.logaddexp.reduce(x, axis=1) ** 2)


def f_subtract_outer(x):
    return np.sum(np.subtract.outer(x[0], x) ** 2)


def f_power_outer(x):
    return np.sum(np.power.outer(x * x + 1.0, x[1]) * W3[0])


XP = np.array([-1.0, -0.2, 0.3, 1.1])


def f_convolve(x):
    return np.sum(np.convolve(x[0], x[1], "same") ** 2)


def f_correlate(x):
    return np.sum(np.correlate(x[0], x[1, :2] ** 2, "full") ** 2)


def f_interp(x):
    return np.sum(np.interp(x[0], XP, x[1] ** 2) ** 2)


def f_polyval(x):
    return np.sum(np.polyval(x[0], x[1:]) ** 2)


# NumPy's name for it: np.trapz before 2.0 (deprecated since)
trapezoid = getattr(np, "trapezoid", None) or np.trapz


def f_trapezoid(x):
    return np.sum(trapezoid(x ** 2, np.cumsum(x[0] ** 2), axis=1) ** 2)


FUNCTIONS = [f_convolve, f_correlate, f_interp, f_polyval, f_trapezoid,
             f_add_reduce, f_multiply_accumulate, f_maximum_accumulate,
             f_minimum_reduce, f_logsumexp, f_subtract_outer, f_power_outer,
             f_nansum, f_nanmean, f_nanprod, f_nancumsum, f_nancumprod,
             f_nanvar, f_nanstd, f_nanmax, f_nanmin, f_nanmedian,
             f_quantiles, f_percentile, f_sum_where,
             f_mean_where, f_max_initial_where, f_min_initial, f_ptp, f_r,
             f_r_slice, f_c, f_r_directive, f_select, f_append,
             f_append_flat, f_gradient, f_gradient_axis]


def arguments(f):
    if f is f_r_slice:
        return [RNG.standard_normal((1, 10))]
    if f is f_r:
        return [RNG.standard_normal((3, 2))]
    if f is f_c:
        return [RNG.standard_normal((3, 2))]
    if f is f_r_directive:
        return [RNG.standard_normal((3, 3))]
    return [X]


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_first_order(f):
    args = arguments(f)
    value, _ = s2sad.value_and_grad(f)(*args)
    assert value == f(*args)
    s2sad.check_grads(f, args)


SECOND = {}


def second(x):
    return np.sum(SECOND["g"](x) * np.cos(x))


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
def test_second_order(f):
    SECOND["g"] = s2sad.grad(f)
    s2sad.check_grads(second, arguments(f))


def nan_median(x):
    return np.median(np.array([x[0], np.nan, x[1]]))


def test_a_nan_quantile_sends_its_gradient_to_the_nan_elements():
    # as np.max: the NaN element has no gradient to receive (a constant)
    assert np.isnan(nan_median(np.ones(2)))
    np.testing.assert_array_equal(s2sad.grad(nan_median)(np.ones(2)),
                                  np.zeros(2))


def test_nan_elements_get_zero_gradient():
    for f in (f_nansum, f_nanmean, f_nanprod, f_nanvar, f_nanstd, f_nanmax,
              f_nanmedian, f_percentile):
        g = s2sad.grad(f)(X)
        assert np.all(g[NAN] == 0.0) and np.all(np.isfinite(g)), f.__name__


class Table:
    def __getitem__(self, key):
        return 2.0 * key


TABLE = Table()


def index_with_number(x):
    return TABLE[x]


def test_a_differentiated_index_of_another_object_is_refused():
    with pytest.raises(s2sad.errors.S2SADError,
                       match="only np.r_.* and np.c_"):
        s2sad.grad(index_with_number)(1.5)

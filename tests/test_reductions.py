"""NumPy reductions where central differences cannot look: ties of np.max and
friends (kinks), exact zeros of np.prod and np.cumprod, the conventions at
0 of np.std and np.linalg.norm; second and third derivatives; array methods;
and the sums that undo broadcasting in the adjoints (runtime.summed).

The registry test (tests/test_rules.py, rows in tests/rule_rows_reductions.py)
checks first derivatives of every rule away from kinks.
"""

import math

import numpy as np
import pytest

import s2sad
from s2sad import runtime

W3 = np.array([0.5, -1.5, 2.0])
W23 = np.array([[0.3, -1.1, 0.7], [1.9, 0.4, -0.8]])

# ---- ties: the gradient is split equally among tied extrema ----


def max_all(x):
    return np.max(x)


def min_all(x):
    return np.min(x)


def amax_all(x):
    return np.amax(x)


def amin_all(x):
    return np.amin(x)


def max_rows(x):
    return np.sum(np.max(x, axis=1) * np.array([1.0, 10.0]))


def min_columns_kept(x):
    return np.sum(np.min(x, axis=0, keepdims=True) * W23[:1])


def max_method(x):
    return x.max()


def maximum_pair(a, b):
    return np.maximum(a, b)


def max_of_pair(a, b):
    return np.max(np.array([a, b]))


def inf_norm(x):
    return np.linalg.norm(x, np.inf)


def one_norm_matrix(x):
    return np.linalg.norm(x, 1)


@pytest.mark.parametrize("f", [max_all, amax_all, max_method])
def test_tied_maxima_share_the_gradient_equally(f):
    x = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    expected = np.array([0.0, 1.0, 1.0, 0.0, 1.0]) / 3.0
    np.testing.assert_array_equal(s2sad.grad(f)(x), expected)
    # forward mode: the mean of the tied elements' tangents
    v = np.array([5.0, 1.0, 2.0, 7.0, 6.0])
    assert s2sad.jvp(f, (x,), (v,))[1] == pytest.approx(3.0, abs=1e-15)


@pytest.mark.parametrize("f", [min_all, amin_all])
def test_tied_minima_share_the_gradient_equally(f):
    x = np.array([[2.0, -1.0], [-1.0, 4.0]])
    np.testing.assert_array_equal(s2sad.grad(f)(x),
                                  [[0.0, 0.5], [0.5, 0.0]])


def test_ties_are_counted_per_reduced_slice():
    x = np.array([[1.0, 1.0, 0.0], [2.0, 5.0, 5.0]])
    np.testing.assert_array_equal(s2sad.grad(max_rows)(x),
                                  [[0.5, 0.5, 0.0], [0.0, 5.0, 5.0]])
    y = np.array([[0.0, 1.0, 4.0], [0.0, 2.0, 4.0]])
    np.testing.assert_allclose(s2sad.grad(min_columns_kept)(y),
                               [[0.15, -1.1, 0.35], [0.15, 0.0, 0.35]],
                               rtol=0, atol=1e-15)


def test_reduction_ties_follow_the_np_maximum_convention():
    for f in (maximum_pair, max_of_pair):
        assert s2sad.grad(f, argnums=(0, 1))(2.0, 2.0) == (0.5, 0.5)


def test_max_with_nan_sends_the_gradient_to_the_nan():
    x = np.array([1.0, np.nan, 3.0])
    np.testing.assert_array_equal(s2sad.grad(max_all)(x), [0.0, 1.0, 0.0])


def test_inf_norm_ties_split_with_the_sign():
    x = np.array([3.0, -3.0, 1.0])
    np.testing.assert_array_equal(s2sad.grad(inf_norm)(x), [0.5, -0.5, 0.0])


def test_matrix_one_norm_ties_split_between_columns():
    x = np.array([[1.0, -2.0], [-3.0, 2.0]])  # both columns sum to 4
    np.testing.assert_array_equal(s2sad.grad(one_norm_matrix)(x),
                                  [[0.5, -0.5], [-0.5, 0.5]])


# ---- exact zeros of products ----


def prod_all(x):
    return np.prod(x)


def prod_columns(x):
    return np.sum(np.prod(x, axis=0) * np.array([1.0, 10.0]))


def prod_method(x):
    return np.sum(x.prod(axis=1))


def cumprod_sum(x):
    return np.sum(np.cumprod(x) * np.array([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("x, expected", [
    ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),
    ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0]),
    ([0.0, -1.5, 4.0], [-6.0, 0.0, 0.0]),
])
def test_prod_gradient_is_exact_at_zeros(x, expected):
    with np.errstate(all="raise"):  # nothing divides by zero
        g = s2sad.grad(prod_all)(np.array(x))
        tangent = s2sad.jvp(prod_all, (np.array(x),),
                            (np.array([1.0, 2.0, 3.0]),))[1]
    np.testing.assert_array_equal(g, expected)
    assert tangent == np.dot(expected, [1.0, 2.0, 3.0])


def test_prod_over_an_axis_is_exact_at_zeros():
    x = np.array([[0.0, 2.0], [3.0, 4.0], [5.0, 0.0]])
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(
            s2sad.grad(prod_columns)(x),
            [[15.0, 0.0], [0.0, 0.0], [0.0, 80.0]])
        np.testing.assert_array_equal(
            s2sad.grad(prod_method)(x),
            [[2.0, 0.0], [4.0, 3.0], [0.0, 5.0]])


def test_cumprod_gradient_is_exact_at_zeros():
    x = np.array([2.0, 0.0, 3.0])  # cumprod: 2, 0, 0
    with np.errstate(all="raise"):
        g = s2sad.grad(cumprod_sum)(x)
        tangent = s2sad.jvp(cumprod_sum, (x,), (np.array([1.0, 1.0, 1.0]),))
    # d/dx0 = 1 + 2 x1 + 3 x1 x2, d/dx1 = 2 x0 + 3 x0 x2, d/dx2 = 3 x0 x1
    np.testing.assert_array_equal(g, [1.0, 22.0, 0.0])
    assert tangent[1] == 23.0


def test_cumprod_of_a_long_vector_with_zeros():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.9, 1.1, 3000)
    x[[10, 1500]] = 0.0
    g = s2sad.grad(cumprod_long)(x)
    # d/dx_k sum_i cumprod_i = sum_{i >= k} prod_{j <= i, j != k} x_j
    expected = np.zeros_like(x)
    for k in (0, 5, 10, 11, 1499, 1500, 1501, 2999):
        others = x.copy()
        others[k] = 1.0
        expected[k] = np.sum(np.cumprod(others)[k:])
        assert g[k] == pytest.approx(expected[k], rel=1e-12, abs=1e-300)


def cumprod_long(x):
    return np.sum(np.cumprod(x))


# ---- conventions at 0 ----


def std_all(x):
    return np.std(x)


def std_rows(x):
    return np.sum(np.std(x, axis=1, ddof=1))


def norm_all(x):
    return np.linalg.norm(x)


def norm_rows(x):
    return np.sum(np.linalg.norm(x, axis=1))


def one_norm(x):
    return np.linalg.norm(x, 1)


def three_norm(x):
    return np.linalg.norm(x, 3)


@pytest.mark.parametrize("f, x", [
    (std_all, np.zeros(3)), (std_all, np.full(3, 2.5)),
    (norm_all, np.zeros(3)), (one_norm, np.zeros(3)), (inf_norm, np.zeros(3)),
    (one_norm_matrix, np.zeros((2, 3))), (three_norm, np.zeros(3)),
])
def test_gradient_is_zero_where_the_reduction_has_a_kink_at_zero(f, x):
    with np.errstate(all="raise"):  # no division by zero, no NaN
        np.testing.assert_array_equal(s2sad.grad(f)(x), np.zeros_like(x))
        assert s2sad.jvp(f, (x,), (np.ones_like(x),))[1] == 0.0


def nuclear_norm(x):
    return np.linalg.norm(x, "nuc")


def spectral_norm(x):
    return np.linalg.norm(x, 2)


def smallest_singular_value(x):
    return np.linalg.norm(x, -2)


@pytest.mark.parametrize("f", [nuclear_norm, spectral_norm,
                               smallest_singular_value])
def test_singular_value_norms_have_zero_gradient_at_zero(f):
    x = np.zeros((2, 3))
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(s2sad.grad(f)(x), np.zeros_like(x))


def test_nuclear_norm_gradient_skips_zero_singular_values():
    x = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # rank 1
    np.testing.assert_allclose(s2sad.grad(nuclear_norm)(x),
                               [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-15)


def test_tied_singular_values_share_the_gradient():
    x = np.diag([3.0, 3.0, 1.0])
    np.testing.assert_allclose(s2sad.grad(spectral_norm)(x),
                               np.diag([0.5, 0.5, 0.0]), atol=1e-15)


def test_zero_rows_get_zero_gradient_the_others_their_own():
    x = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]])
    np.testing.assert_allclose(s2sad.grad(norm_rows)(x),
                               [[0.0, 0.0, 0.0], [0.6, 0.0, -0.8]],
                               rtol=0, atol=1e-15)
    y = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(s2sad.grad(std_rows)(y),
                               [[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]],
                               rtol=0, atol=1e-15)


# ---- refused ----


def average_returned(x, w):
    avg, total = np.average(x, weights=w, returned=True)
    return avg * total


def test_average_with_returned_is_refused():
    with pytest.raises(s2sad.S2SADError, match="returned=True"):
        s2sad.grad(average_returned)(W3, np.array([1.0, 2.0, 3.0]))


def max_initial(x):
    return np.max(x, initial=10.0)


def test_max_with_initial_above_every_element_passes_no_gradient():
    assert max_initial(W3) == 10.0
    np.testing.assert_array_equal(s2sad.grad(max_initial)(W3),
                                  np.zeros_like(W3))


# ---- second and third derivatives ----


def prod_f(x):
    return np.sum(np.prod(x, axis=0) * np.array([1.0, -2.0, 0.5]))


def prod_all_f(x):
    return np.prod(x) + np.prod(x[:, 1:], axis=(0, 1))


def var_f(x):
    return np.var(x) + np.sum(np.var(x, axis=1, ddof=1) * np.array([1.0, 3.0]))


def std_f(x):
    return np.std(x, ddof=1) * np.sum(np.std(x, axis=0, keepdims=True))


def norm_f(x):
    return np.linalg.norm(x) ** 3 + np.sum(np.linalg.norm(x, axis=1) * W3[:2])


def norm_kinks_f(x):
    return np.linalg.norm(x, 1) * np.linalg.norm(x[0], np.inf)


def singular_f(x):
    return (np.linalg.norm(x, "nuc") * np.linalg.norm(x, 2)
            + np.linalg.norm(x.T, -2) ** 2)


def batched_singular_f(x):
    return np.sum(np.linalg.norm(np.stack([x, x * x]), "nuc", (2, 1))
                  * np.array([1.0, -0.5]))


def p_norm_f(x):
    return np.linalg.norm(x[0], 3) * np.linalg.norm(x, 4, axis=1) @ W3[:2] + \
        np.sum(np.linalg.norm(x, 2.5, axis=0, keepdims=True) * W3) + \
        np.linalg.norm(x.T, -1.5, 0)[1]


def complex_p_norm_f(x):
    z = x + 1j * np.cos(3.0 * x)
    return np.linalg.norm(z[0], 3) + np.sum(np.linalg.norm(z, 4, axis=1)) * \
        np.linalg.norm(z, 1.5, axis=0) @ W3


def complex_singular_f(x):
    z = x + 1j * np.cos(3.0 * x)
    return (np.linalg.norm(z, "nuc") * np.linalg.norm(z, 2)
            + np.linalg.norm(z.T, -2) ** 2 + np.sum(np.linalg.norm(
                np.stack([z, z * z]), "nuc", (2, 1)) * np.array([1.0, -0.5])))


def cumprod_f(x):
    return np.sum(np.cumprod(x, axis=1) * W23)


def cumprod_flat_f(x):
    return np.sum(np.cumprod(x) * np.sin(np.arange(6.0)))


def cumsum_f(x):
    return np.sum(np.cumsum(x, axis=0) ** 2 * W23)


def average_f(x):
    return np.average(x * x, axis=1, weights=np.exp(x[0])) @ np.array(
        [1.0, -1.0])


def trace_max_f(x):
    return np.trace(x * x, 1) * np.max(x) + np.min(x, axis=0) @ W3


X = np.array([[0.8, -1.3, 0.4], [1.7, 0.6, -0.9]])
X_ZEROS = np.array([[0.0, -1.3, 0.4], [1.7, 0.0, 0.0]])

SECOND_ORDER = [
    (prod_f, X), (prod_f, X_ZEROS), (prod_all_f, X), (prod_all_f, X_ZEROS),
    (var_f, X), (std_f, X), (norm_f, X), (norm_kinks_f, X), (cumprod_f, X),
    (cumprod_f, X_ZEROS), (cumprod_flat_f, X), (cumprod_flat_f, X_ZEROS),
    (cumsum_f, X), (average_f, X), (trace_max_f, X), (singular_f, X),
    (singular_f, X.T @ X[:, :2] + 0.1), (batched_singular_f, X),
    (p_norm_f, X), (complex_p_norm_f, X), (complex_singular_f, X),
    (complex_singular_f, X.T @ X[:, :2] + 0.1),
]


def gradient_differences(f, x, eps=1e-5):
    g = s2sad.grad(f)
    rows = [(g(x + eps * e.reshape(x.shape)) - g(x - eps * e.reshape(x.shape)))
            / (2 * eps) for e in np.eye(x.size)]
    return np.array(rows).reshape(x.shape + x.shape)


@pytest.mark.parametrize("f, x", SECOND_ORDER,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in
                              enumerate(SECOND_ORDER)])
def test_hessian_matches_differences_of_the_gradient(f, x):
    numeric = gradient_differences(f, x)
    forward_over_reverse = s2sad.hessian(f)(x)
    reverse_over_reverse = s2sad.jacrev(s2sad.grad(f))(x)
    np.testing.assert_allclose(forward_over_reverse, numeric, rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(reverse_over_reverse, numeric, rtol=1e-6,
                               atol=1e-8)


@pytest.mark.parametrize("f, x", [(cumprod_f, X_ZEROS), (prod_f, X_ZEROS),
                                  (prod_all_f, X), (std_f, X), (norm_f, X),
                                  (average_f, X), (singular_f, X),
                                  (p_norm_f, X)])
def test_third_derivative_matches_differences_of_the_hessian(f, x):
    """Forward over forward over reverse: the generated code of the rules'
    own derivatives is differentiated again."""
    rng = np.random.default_rng(5)
    u, v = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
    jvp_of_grad = s2sad.api.differentiate(s2sad.grad(f), (0,), mode="forward")
    _, (_, third) = s2sad.jvp(jvp_of_grad, (x, v), (u, np.zeros_like(v)))
    eps = 1e-5
    numeric = (jvp_of_grad(x + eps * u, v)[1]
               - jvp_of_grad(x - eps * u, v)[1]) / (2 * eps)
    np.testing.assert_allclose(third, numeric, rtol=1e-6, atol=1e-8)


# ---- array methods are the NumPy functions ----


def methods(x):
    return (x.prod(axis=0) @ W3 + x.max() * x.min(axis=1).sum() + x.var()
            + x.std(axis=0, ddof=1).sum() + x.cumsum().sum()
            + (x.cumprod(axis=1) * W23).sum() + x.trace(1))


def test_reduction_methods_match_central_differences():
    s2sad.check_grads(methods, (X,))


# -- the sums that undo broadcasting ----------------------------------------

@pytest.mark.parametrize("shape, axes, keepdims", [
    ((1000, 10), (1,), True), ((10000, 3), (0,), False),
    ((5, 40, 10), (0, 1), False), ((4, 50, 6), (1, 2), True),
    ((64, 200), (1,), True),  # (a last axis past 128: NumPy's own sum)
    ((6, 7, 8), (1,), True),  # (a middle axis: NumPy's own sum)
    ((0, 3), (0,), False), ((300, 0), (1,), True), ((3,), (0,), False)])
@pytest.mark.parametrize("kind", ["float64", "float32", "strided"])
def test_unbroadcasting_sums_are_numpy_s_sums(shape, axes, keepdims, kind):
    """runtime.summed, which sums a float64 array in C order over its
    first axes or over its last (at most 128 elements) as a product with
    ones: NumPy's sum to rounding, its shape and dtype, a new array."""
    rng = np.random.default_rng(len(shape) + sum(shape))
    a = rng.normal(size=shape) * 100.0 + 1.0
    if kind == "float32":
        a = a.astype(np.float32)
    elif kind == "strided":
        a = np.asarray(np.swapaxes(np.swapaxes(a, 0, -1).copy(), 0, -1))
    got = runtime.summed(a, axes, keepdims)
    expected = np.sum(a, axis=axes, keepdims=keepdims)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-12 if kind != "float32"
                               else 1e-5, atol=1e-9)
    assert not np.shares_memory(got, a)
    if kind == "float64" and a.size:  # (as accurate: each sum, exactly)
        moved = np.moveaxis(a, axes, range(len(axes))).reshape(
            math.prod(a.shape[i] for i in axes), -1)
        exact = np.array([math.fsum(col) for col in moved.T])
        scale = np.abs(moved).sum(axis=0)
        assert np.all(np.abs(got.ravel() - exact) <= 1e-15 * len(moved) *
                      scale + 1e-300)


@pytest.mark.parametrize("shape, to", [
    ((32, 32), (32, 1)), ((1000, 10), (1000, 1)), ((300, 3), (3,)),
    ((8, 8), (1, 8)), ((64, 200), (64, 1)), ((5, 7), (5, 1)),
    ((40, 1), (40, 1)), ((1, 70), (70,)), ((6, 12, 4), (12, 1))])
@pytest.mark.parametrize("kind", ["float64", "float32", "strided"])
def test_sums_to_a_shape_are_the_unbroadcasting_sums(shape, to, kind):
    """runtime.sum_to, whose quick path for a matrix summed to a column or
    a row must give what `summed` gives, bit for bit."""
    a = np.random.default_rng(sum(shape)).normal(size=shape)
    if kind == "float32":
        a = a.astype(np.float32)
    elif kind == "strided":
        a = np.asarray(np.swapaxes(np.swapaxes(a, 0, -1).copy(), 0, -1))
    extra = a.ndim - len(to)
    expected = runtime.summed(a, tuple(range(extra)), False) if extra else a
    axes = tuple(i for i, n in enumerate(to)
                 if n == 1 and expected.shape[i] != 1)
    if axes:
        expected = runtime.summed(expected, axes, True)
    got = runtime.sum_to(a, to)
    assert got.shape == to and got.dtype == a.dtype
    np.testing.assert_array_equal(got, expected.reshape(to))
    np.testing.assert_allclose(got, np.sum(a, axis=tuple(
        range(extra)) + tuple(i + extra for i in axes), keepdims=True
    ).reshape(to), rtol=1e-5 if kind == "float32" else 1e-12)


def test_a_bias_added_to_a_batch_has_the_summed_gradient(rng):
    def loss(W, b, X):
        return np.sum(np.tanh(X @ W + b) ** 2)

    W, b, X = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(
        size=(5000, 3))
    gW, gb = s2sad.grad(loss, (0, 1))(W, b, X)
    h = np.tanh(X @ W + b)
    d = 2 * h * (1 - h * h)
    np.testing.assert_allclose(gb, d.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(gW, X.T @ d, rtol=1e-12)


# ---- shifts that cancel: softmax, log-softmax and logsumexp ----
# `e = np.exp(s - m)` with m a max (or any reduction) of s over the axes the
# normalising sum is over: the result does not depend on m, so no derivative
# flows back through it (no tie weights, and a tie of the max is no kink).


def softmax_rows(s, t):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return np.sum(e / e.sum(axis=1, keepdims=True) * t)


def softmax_vector(s, t):
    e = np.exp(s - np.max(s))
    p = e / np.sum(e)
    return np.sum(p * t)


def log_softmax_last_axis(s, t):
    z = s - np.max(s, axis=-1, keepdims=True)
    return np.sum((z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))) * t)


def logsumexp_rows(s, t):
    m = np.max(s, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(s - m), axis=1, keepdims=True))
    return np.sum(lse * t[:, :1])


def logsumexp_total(s, t):
    m = np.max(s)
    return np.log(np.sum(np.exp(s - m))) + m + np.sum(s * t)


def softmax_centred_by_the_mean(s, t):
    e = np.exp(s - np.mean(s, 1, keepdims=True))
    return np.sum(e / np.sum(e, 1, keepdims=True) * t)


def softmax_rows_shifted_by_the_total_max(s, t):
    e = np.exp(s - np.max(s))
    return np.sum(e / e.sum(axis=1, keepdims=True) * t)


def softmax_in_a_loop(s, t):
    total = 0.0
    for k in range(1, 3):
        ks = k * s
        e = np.exp(ks - np.max(ks, axis=1, keepdims=True))
        total = total + np.sum(e / e.sum(axis=1, keepdims=True) * t)
    return total


def softmax_columns_over_a_leading_axis(s, t):
    # (a reduction over axis 0 broadcasts back along it, kept or not)
    e = np.exp(s - s.max(axis=0))
    return np.sum(e / e.sum(axis=0) * t)


def logsumexp_columns(s, t):
    m = np.max(s, axis=0)
    return np.sum((m + np.log(np.sum(np.exp(s - m), axis=0))) * t[0])


def softmax_of_a_max_put_back(s, t):
    # (`m[:, None]`, `[..., None]`, np.expand_dims: the axis kept after all)
    m = s.max(axis=1)
    e = np.exp(s - m[:, None])
    e2 = np.exp(s - np.expand_dims(m, 1))
    return np.sum(e / e.sum(axis=1)[:, None] * t) + np.sum(
        e2 / np.sum(e2, axis=1, keepdims=True) * t)


def logsumexp_of_a_max_put_back(s, t):
    m = np.max(s, axis=-1)
    lse = m + np.log(np.sum(np.exp(s - m[..., None]), axis=-1))
    return np.sum(lse * t[:, 0])


def softmax_of_scores_computed_twice(s, t):
    # (the max of another array: the same along the last axis)
    e = np.exp(2.0 * s - np.max(2.0 * s, axis=-1, keepdims=True))
    return np.sum(e / np.sum(e, axis=-1, keepdims=True) * t)


# the shift does not cancel: its derivative is computed


def shifted_along_the_other_axis(s, t):
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return np.sum(e / e.sum(axis=1, keepdims=True) * t)


def exponentials_read_again(s, t):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return np.sum(e / e.sum(axis=1, keepdims=True) * t) + np.sum(e)


def normaliser_read_again(s, t):
    e = np.exp(s - s.max(axis=1, keepdims=True))
    z = e.sum(axis=1, keepdims=True)
    return np.sum(e / z * t) + np.sum(np.log(z))


def shifted_read_again(s, t):
    d = s - s.max(axis=1, keepdims=True)
    e = np.exp(d)
    return np.sum(e / e.sum(axis=1, keepdims=True) * t) + np.sum(d * t)


def normaliser_not_kept(s, t):  # (square: divides the columns)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return np.sum(e / e.sum(axis=1) * t)


def scores_computed_twice_axis_from_the_start(s, t):
    e = np.exp(2.0 * s - np.max(2.0 * s, axis=1, keepdims=True))
    return np.sum(e / np.sum(e, axis=1, keepdims=True) * t)


def row_max_not_kept(s, t):  # (square: it spreads along the columns)
    e = np.exp(s - s.max(axis=1))
    return np.sum(e / e.sum(axis=1, keepdims=True) * t)


def max_put_back_along_the_other_axis(s, t):
    m = s.max(axis=1)
    e = np.exp(s - m[None, :])
    return np.sum(e / e.sum(axis=1, keepdims=True) * t)


def kept_max_plus_log_of_a_sum_not_kept(s, t):  # (an outer sum)
    m = s.max(axis=1, keepdims=True)
    return np.sum((m + np.log(np.sum(np.exp(s - m), axis=1))) * t)


def row_shift_total_normaliser(s, t):
    e = np.exp(s - np.max(s, axis=1, keepdims=True))
    return np.sum(e / e.sum() * t)


def logsumexp_max_read_again(s, t):
    m = np.max(s, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(s - m), axis=1, keepdims=True))
    return np.sum(lse * t[:, :1]) + np.sum(m)


CANCELLED = [softmax_rows, softmax_vector, log_softmax_last_axis,
             logsumexp_rows, logsumexp_total, softmax_centred_by_the_mean,
             softmax_rows_shifted_by_the_total_max, softmax_in_a_loop,
             softmax_of_scores_computed_twice,
             softmax_columns_over_a_leading_axis, logsumexp_columns,
             softmax_of_a_max_put_back, logsumexp_of_a_max_put_back]
NOT_CANCELLED = [shifted_along_the_other_axis, exponentials_read_again,
                 normaliser_read_again, shifted_read_again,
                 normaliser_not_kept, row_shift_total_normaliser,
                 scores_computed_twice_axis_from_the_start, row_max_not_kept,
                 max_put_back_along_the_other_axis,
                 kept_max_plus_log_of_a_sum_not_kept,
                 logsumexp_max_read_again]
S44 = np.array([[0.3, -1.2, 0.8, 0.1], [1.5, 0.2, -0.7, 0.9],
                [-0.4, 0.6, 0.05, -1.1], [0.7, -0.3, 1.2, 0.4]])
T44 = np.array([[1.0, -0.5, 0.25, 2.0], [0.3, 0.9, -1.4, 0.6],
                [-0.8, 0.1, 0.7, 1.3], [0.2, -0.6, 0.5, -0.9]])


@pytest.mark.parametrize("f", CANCELLED + NOT_CANCELLED)
def test_shifted_normalisations_match_central_differences(f):
    s, t = (S44[0], T44[0]) if f is softmax_vector else (S44, T44)
    s2sad.check_grads(f, (s, t), order=2)
    value, grad = s2sad.value_and_grad(f)(s, t)
    assert value == f(s, t)


@pytest.mark.parametrize("f", CANCELLED)
def test_a_shift_that_cancels_carries_no_derivative(f):
    # no tie weights (nor any derivative of the max) in the gradient, and at
    # a tie of the max, where the max has a kink, the function has none:
    # its gradient is the central differences'
    s, t = (S44[0], T44[0]) if f is softmax_vector else (S44, T44)
    tied = s.copy()
    tied[..., 2] = tied[..., 0] = np.max(tied) + 0.5
    grad = s2sad.grad(f)
    assert np.allclose(grad(tied, t), s2sad.grad(f)(tied, t), rtol=0)
    assert "tie_weights" not in grad.source
    s2sad.check_grads(f, (tied, t), order=2)


@pytest.mark.parametrize("f", NOT_CANCELLED)
def test_a_shift_that_does_not_cancel_is_differentiated(f):
    grad = s2sad.grad(f)
    grad(S44, T44)
    assert "tie_weights" in grad.source

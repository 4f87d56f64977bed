"""Complex values: JAX's convention, real parts where real meets complex,
FFT-based losses to second order, and the one refusal."""

import warnings

import numpy as np
import pytest

import s2sad
from s2sad import errors


def squared_modulus(z):
    return np.sum(np.abs(z) ** 2)


def real_of_square(z):
    return np.real(np.sum(z ** 2))


def scaled_modulus(z, w):
    return np.sum(np.abs(z * w) ** 2)


def power(x):
    spectrum = np.fft.rfft(x)
    return np.sum(np.abs(spectrum) ** 2) / x.size


def filtered(x, h):
    y = np.fft.irfft(np.fft.rfft(x) * np.fft.rfft(h), x.size)
    return np.sum(y ** 2)


def phase(x):
    return np.sum(np.angle(np.exp(0.5j * x) * (1.0 + 1j)))


def modulus_third(x):
    return np.abs(x * (1.0 + 2.0j)) ** 3


def complex_output(z):
    return z ** 2


Z = np.array([1.0 + 2.0j, 3.0 - 1.0j, -0.5 + 0.25j])


def test_gradient_of_a_real_function_of_z_is_d_dx_minus_i_d_dy():
    # |z|^2 = x^2 + y^2: 2x - 2iy, as JAX returns
    np.testing.assert_allclose(s2sad.grad(squared_modulus)(Z), 2 * np.conj(Z))


def test_holomorphic_steps_need_no_conjugate():
    # Re(z^2) = x^2 - y^2: 2x + 2iy
    np.testing.assert_allclose(s2sad.grad(real_of_square)(Z), 2 * Z)


def test_a_real_input_meeting_a_complex_one_gets_a_real_gradient():
    w = np.array([0.5, 2.0, -1.0])
    gz, gw = s2sad.grad(scaled_modulus, argnums=(0, 1))(Z, w)
    np.testing.assert_allclose(gz, 2 * np.conj(Z) * w * w)
    assert gw.dtype == np.float64
    np.testing.assert_allclose(gw, 2 * w * np.abs(Z) ** 2)


@pytest.mark.parametrize("func, nargs", [(power, 1), (filtered, 2), (phase, 1)])
def test_fft_losses_against_central_differences(func, nargs, rng):
    args = [rng.standard_normal(8) for _ in range(nargs)]
    s2sad.check_grads(func, args)
    gradient = s2sad.grad(func)(*args)
    assert gradient.dtype == np.float64


@pytest.mark.parametrize("func", [power, filtered])
def test_fft_hessians_against_differences_of_the_gradient(func, rng):
    x = rng.standard_normal(8)
    args = (x,) if func is power else (x, rng.standard_normal(8))
    gradient = s2sad.grad(func)
    eps = 1e-6
    columns = []
    for e in np.eye(8):
        plus = gradient(x + eps * e, *args[1:])
        minus = gradient(x - eps * e, *args[1:])
        columns.append((plus - minus) / (2 * eps))
    np.testing.assert_allclose(s2sad.hessian(func)(*args), np.array(columns),
                               rtol=1e-6, atol=1e-7)


def test_derivatives_of_complex_abs_of_every_order():
    # |x (1 + 2i)|^3 = 5^1.5 |x|^3: third derivative 6 5^1.5, fourth 0
    third = s2sad.grad(s2sad.grad(s2sad.grad(modulus_third)))
    assert third(0.7) == pytest.approx(6 * 5 ** 1.5, rel=1e-12)
    assert s2sad.jacfwd(third)(0.7) == pytest.approx(0.0, abs=1e-9)


def test_second_derivatives_of_complex_abs():
    # |x (1 + 2i)|^3 = 5^1.5 |x|^3: second derivative 6 5^1.5 |x|
    second = s2sad.grad(s2sad.grad(modulus_third))
    assert second(0.7) == pytest.approx(6 * 5 ** 1.5 * 0.7, rel=1e-12)


def test_grad_of_a_complex_output_is_refused():
    with pytest.raises(errors.GradientShapeError, match="complex"):
        s2sad.grad(complex_output)(1.0 + 1.0j)


def _writes_into_a_copy(x, v):
    y = x * 1.0
    y[1] = v
    return y


def test_a_real_tangent_of_a_complex_array_takes_a_complex_item():
    # a real tangent is accepted for a complex primal; the item written
    # into it keeps its imaginary part (and NumPy warns of no cast)
    x, v = np.array([1 + 1j, 2 + 0j, 3 - 1j]), 0.5 + 2j
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, t = s2sad.jvp(_writes_into_a_copy, (x, v),
                         (np.array([1.0, 0.0, 0.0]), 1j))
    np.testing.assert_array_equal(t, [1, 1j, 0])


def root_of_root(x):
    w = (x - 1.0) ** 0.5  # complex for x < 1, as Python makes it
    return abs(w ** 0.5)


def complex_in_a_loop(s, n):
    for i in range(n):
        s = (s - 1.0) ** 0.5 + s
    return abs(s)


@pytest.mark.parametrize("f, args", [(root_of_root, (0.5,)),
                                     (root_of_root, (2.0,)),
                                     (complex_in_a_loop, (0.5, 2))])
def test_python_floats_that_turn_complex_on_the_float_path(f, args):
    # the float path's power guard read `w > 0.0` of a complex w (a
    # TypeError, found by an outside attack); its gradient is the real
    # part, a Python float, without a ComplexWarning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = s2sad.grad(f)(*args)
    assert type(g) is float
    eps = 1e-6
    x, rest = args[0], args[1:]
    numeric = (f(x + eps, *rest) - f(x - eps, *rest)) / (2 * eps)
    assert g == pytest.approx(numeric, rel=1e-7)

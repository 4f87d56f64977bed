"""Rows of the registry test for complex parts (rules/numpy.py) and np.fft
(rules/numpy_fft.py). Complex inputs are made from real pairs, `x0 + 1j * x1`,
and outputs turned real (np.real, np.abs, products with a fixed complex
array), so central differences in the real inputs check them."""

import numpy as np

from s2sad import runtime
from s2sad.rules import registry

from tests.rule_inputs import ALL, FLOAT, arr

_rng = np.random.default_rng(7)


def complex_weights(*shape):
    """A fixed complex array: `np.real(z * C)` reads both parts of z."""
    return _rng.standard_normal(shape) + 1j * _rng.standard_normal(shape)


C8, C5, C12, C6 = (complex_weights(n) for n in (8, 5, 12, 6))
C3x4, C3x3, C4x4, C2x3x4 = (complex_weights(*s) for s in
                            ((3, 4), (3, 3), (4, 4), (2, 3, 4)))

ROWS = {
    np.real: [
        ("OP(x0 * (1.0 + 2.0j) + x1 * x0 * 1j)", [arr(3), arr(3)], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP((x0 + 1j * x1) ** 2)", [arr(3), arr(3)], ALL),
    ],
    np.imag: [
        ("OP((x0 + 1j * x1) ** 3)", [arr(3), arr(3)], ALL),
        ("OP(np.exp(1j * x0) * x1)", [arr(2, 3), arr(3)], ALL),
    ],
    np.conj: [
        ("np.real(OP(x0 + 1j * x1) * x2)", [arr(3), arr(3), C3x3[0]], (0, 1)),
        ("np.imag(OP((x0 + 1j * x1) ** 2))", [arr(3), arr(3)], ALL),
    ],
    np.conjugate: [
        ("np.real(OP(x0 + 1j * x1) * (x0 + 1j * x1))", [arr(3), arr(3)],
         ALL),
    ],
    np.angle: [
        ("OP(x0 + 1j * x1)", [arr(3), arr(3)], ALL),
        ("OP(x0 * (1.0 + 1j) + x1, deg=True)", [arr(2, 3), arr(3)], ALL),
    ],
    np.real_if_close: [
        ("OP(x0 + 0j)", [arr(3)], ALL),
        ("np.real(OP(x0 + 1j * x1) * x2)", [arr(3), arr(3), C3x3[1]], (0, 1)),
    ],
    np.abs: [
        ("OP(x0)", [FLOAT], ALL),
        ("OP(x0)", [arr()], ALL),
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0 + 1j * x1)", [arr(3), arr(3)], ALL),
        ("OP((x0 + 1j * x1) * x0)", [arr(2, 3), arr(3)], ALL),
    ],
    runtime.sign: [
        ("OP(x0)", [arr(2, 3)], ALL),
        ("np.real(OP(x0 + 1j * x1) * x2)", [arr(3), arr(3), C3x3[2]], (0, 1)),
    ],
    registry.attribute("real"): [
        ("(x0 * (1.0 + 2.0j) + x1 * x0 * 1j).real", [arr(3), arr(3)], ALL),
        ("x0.real", [arr(2, 3)], ALL),
    ],
    registry.attribute("imag"): [
        ("((x0 + 1j * x1) ** 3).imag", [arr(3), arr(3)], ALL),
    ],
    np.fft.fft: [
        ("np.real(OP(x0) * x1)", [arr(8), C8], (0,)),
        ("np.abs(OP(x0 + 1j * x1)) ** 2", [arr(8), arr(8)], ALL),
        ("np.imag(OP(x0, 5))", [arr(8)], ALL),
        ("np.real(OP(x0, 12) * x1)", [arr(8), C12], (0,)),
        ("np.real(OP(x0, axis=0, norm='ortho') * x1)", [arr(3, 4), C3x4],
         (0,)),
        ("np.imag(OP(x0 * 1j + x1, norm='forward'))", [arr(2, 3), arr(2, 3)],
         ALL),
    ],
    np.fft.ifft: [
        ("np.real(OP(x0) * x1)", [arr(8), C8], (0,)),
        ("np.imag(OP(x0 + 1j * x1, 6))", [arr(8), arr(8)], ALL),
        ("np.real(OP(x0, norm='ortho', axis=0) * x1)", [arr(3, 4), C3x4],
         (0,)),
    ],
    np.fft.fft2: [
        ("np.real(OP(x0) * x1)", [arr(3, 4), C3x4], (0,)),
        ("np.abs(OP(x0 + 1j * x1, (4, 4)))", [arr(3, 4), arr(3, 4)], ALL),
    ],
    np.fft.ifft2: [
        ("np.real(OP(x0 + 1j * x1) * x2)", [arr(3, 4), arr(3, 4), C3x4],
         (0, 1)),
    ],
    np.fft.fftn: [
        ("np.real(OP(x0) * x1)", [arr(2, 3, 4), C2x3x4], (0,)),
        ("np.imag(OP(x0, axes=(0, 2)) * x1)", [arr(2, 3, 4), C2x3x4], (0,)),
        ("np.abs(OP(x0, (3, 3), axes=(0, 1)))", [arr(3, 4)], ALL),
    ],
    np.fft.ifftn: [
        ("np.real(OP(x0 + 1j * x1) * x2)", [arr(3, 4), arr(3, 4), C3x4],
         (0, 1)),
        ("np.imag(OP(x0, norm='ortho'))", [arr(2, 3, 4)], ALL),
    ],
    np.fft.rfft: [
        ("np.real(OP(x0) * x1)", [arr(8), C5], (0,)),
        ("np.abs(OP(x0)) ** 2", [arr(9)], ALL),
        ("np.imag(OP(x0, 10) * x1)", [arr(8), C6], (0,)),
        ("np.real(OP(x0, axis=0, norm='ortho'))", [arr(4, 3)], ALL),
        ("np.imag(OP(x0, norm='forward'))", [arr(7)], ALL),
    ],
    np.fft.rfft2: [
        ("np.abs(OP(x0)) ** 2", [arr(4, 4)], ALL),
        ("np.real(OP(x0, (3, 6)) * x1)", [arr(3, 4), C3x4], (0,)),
    ],
    np.fft.rfftn: [
        ("np.imag(OP(x0) * x1)", [arr(2, 3, 4), complex_weights(2, 3, 3)],
         (0,)),
        ("np.abs(OP(x0, axes=(0,)))", [arr(4, 3)], ALL),
    ],
    np.fft.irfft: [
        ("OP(x0 + 1j * x1)", [arr(5), arr(5)], ALL),
        ("OP(x0 + 1j * x1, 9)", [arr(5), arr(5)], ALL),
        ("OP(x0 + 1j * x1, 6)", [arr(5), arr(5)], ALL),
        ("OP(x0 + 1j * x1, axis=0, norm='ortho')", [arr(3, 2), arr(3, 2)],
         ALL),
        ("OP(x0 * 1j + x1, norm='forward')", [arr(4), arr(4)], ALL),
        ("OP(np.fft.rfft(x0))", [arr(8)], ALL),
    ],
    np.fft.irfft2: [
        ("OP(x0 + 1j * x1)", [arr(3, 3), arr(3, 3)], ALL),
        ("OP(x0 + 1j * x1, (4, 5))", [arr(4, 3), arr(4, 3)], ALL),
    ],
    np.fft.irfftn: [
        ("OP(x0 + 1j * x1)", [arr(2, 3, 3), arr(2, 3, 3)], ALL),
        ("OP(x0 + 1j * x1, axes=(0,), norm='ortho')", [arr(3, 2), arr(3, 2)],
         ALL),
    ],
    np.fft.fftshift: [
        ("OP(x0)", [arr(5)], ALL),
        ("OP(x0, axes=1)", [arr(2, 3)], ALL),
    ],
    np.fft.ifftshift: [
        ("OP(x0)", [arr(2, 3)], ALL),
        ("OP(x0, axes=(0,))", [arr(5, 2)], ALL),
    ],
}

"""Rules for np.fft.

The transforms are linear. Under the complex convention of rules/numpy.py
(JAX's: an adjoint c satisfies dL = Re(c dz)) the adjoint of a linear map is
its transpose, not its conjugate transpose; the DFT matrix is symmetric, so
the adjoint of `fft` is `fft` again, cropped or zero-padded back to the
input's length where `n`/`s` padded or cropped it. `rfft` is `fft` followed
by keeping the first n//2 + 1 frequencies, so its adjoint zero-pads and
applies `fft`. `irfft` is only real-linear (it reads the other half of the
spectrum from the Hermitian symmetry), so its adjoint is
`w * conj(rfft(ybar))`, with w = 1 at frequency 0 and Nyquist and 2 between,
and the normalisation swapped between "backward" and "forward".
"""

import numpy as np

from s2sad import runtime
from s2sad.rules.registry import (
    adjoint, d, linear, non_differentiable, only, tangent, via_output)


def _swapped(norm):
    """The normalisation of the transpose of a transform normalised by `norm`
    in the opposite direction."""
    return {None: "forward", "backward": "forward", "ortho": "ortho",
            "forward": "backward"}[norm]


def _hermitian_weights(y, axis):
    """w along `axis` of the real signal y: 1, 2, ..., 2, (1 if even)."""
    n = np.shape(y)[axis]
    w = np.full(n // 2 + 1, 2.0, like=runtime.library(y))
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shape = [1] * np.ndim(y)
    shape[axis] = len(w)
    return np.reshape(w, shape)


def _last_axis(y, axes):
    """The axis an n-dimensional real transform halves."""
    return -1 if axes is None else axes[-1]


def _axes(a, s, axes):
    """The axes an n-dimensional transform of `a` runs along."""
    if axes is not None:
        return axes
    return tuple(range(np.ndim(a) - (np.ndim(a) if s is None else len(s)),
                       np.ndim(a)))


def _real_shape(a, s, axes):
    """The lengths along `axes` of the real signal rfftn(a, s, axes) reads."""
    if s is not None:
        return s
    return tuple(np.shape(a)[i] for i in _axes(a, s, axes))


def _real_length(a, n, axis):
    return np.shape(a)[axis] if n is None else n


non_differentiable(_swapped, _hermitian_weights, _last_axis, _axes,
                   _real_shape, _real_length)

# ---- complex transforms: the adjoint is the same transform ----


@adjoint(np.fft.fft, makes_complex=True)
def fft_rev(y, a, n: via_output = None, axis=-1, norm=None,
            out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.fft(d[y], None, axis, norm), a)


@tangent(np.fft.fft)
def fft_fwd(y, a, n=None, axis=-1, norm=None, out: only(None) = None):
    d[y] = np.fft.fft(d[a], n, axis, norm)


@adjoint(np.fft.ifft, makes_complex=True)
def ifft_rev(y, a, n: via_output = None, axis=-1, norm=None,
             out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.ifft(d[y], None, axis, norm), a)


@tangent(np.fft.ifft)
def ifft_fwd(y, a, n=None, axis=-1, norm=None, out: only(None) = None):
    d[y] = np.fft.ifft(d[a], n, axis, norm)


@adjoint(np.fft.fft2, makes_complex=True)
def fft2_rev(y, a, s: via_output = None, axes=(-2, -1), norm=None,
             out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.fft2(d[y], None, axes, norm), a)


@tangent(np.fft.fft2)
def fft2_fwd(y, a, s=None, axes=(-2, -1), norm=None, out: only(None) = None):
    d[y] = np.fft.fft2(d[a], s, axes, norm)


@adjoint(np.fft.ifft2, makes_complex=True)
def ifft2_rev(y, a, s: via_output = None, axes=(-2, -1), norm=None,
              out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.ifft2(d[y], None, axes, norm), a)


@tangent(np.fft.ifft2)
def ifft2_fwd(y, a, s=None, axes=(-2, -1), norm=None, out: only(None) = None):
    d[y] = np.fft.ifft2(d[a], s, axes, norm)


@adjoint(np.fft.fftn, makes_complex=True)
def fftn_rev(y, a, s: via_output = None, axes=None, norm=None,
             out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.fftn(d[y], None, axes, norm), a)


@tangent(np.fft.fftn)
def fftn_fwd(y, a, s=None, axes=None, norm=None, out: only(None) = None):
    d[y] = np.fft.fftn(d[a], s, axes, norm)


@adjoint(np.fft.ifftn, makes_complex=True)
def ifftn_rev(y, a, s: via_output = None, axes=None, norm=None,
              out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.ifftn(d[y], None, axes, norm), a)


@tangent(np.fft.ifftn)
def ifftn_fwd(y, a, s=None, axes=None, norm=None, out: only(None) = None):
    d[y] = np.fft.ifftn(d[a], s, axes, norm)


# ---- real transforms ----


@adjoint(np.fft.rfft, makes_complex=True)
def rfft_rev(y, a, n=None, axis=-1, norm=None, out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.fft(d[y], _real_length(a, n, axis), axis, norm),
                          a)


@tangent(np.fft.rfft)
def rfft_fwd(y, a, n=None, axis=-1, norm=None, out: only(None) = None):
    d[y] = np.fft.rfft(d[a], n, axis, norm)


@adjoint(np.fft.rfft2, makes_complex=True)
def rfft2_rev(y, a, s=None, axes=(-2, -1), norm=None, out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.fft2(d[y], _real_shape(a, s, axes), axes, norm),
                          a)


@tangent(np.fft.rfft2)
def rfft2_fwd(y, a, s=None, axes=(-2, -1), norm=None, out: only(None) = None):
    d[y] = np.fft.rfft2(d[a], s, axes, norm)


@adjoint(np.fft.rfftn, makes_complex=True)
def rfftn_rev(y, a, s=None, axes=None, norm=None, out: only(None) = None):
    d[a] = runtime.fit_to(np.fft.fftn(d[y], _real_shape(a, s, axes),
                                     _axes(a, s, axes), norm),
                          a)


@tangent(np.fft.rfftn)
def rfftn_fwd(y, a, s=None, axes=None, norm=None, out: only(None) = None):
    d[y] = np.fft.rfftn(d[a], s, axes, norm)


@adjoint(np.fft.irfft, makes_complex=True)
def irfft_rev(y, a, n: via_output = None, axis=-1, norm=None,
              out: only(None) = None):
    d[a] = runtime.fit_to(np.conj(np.fft.rfft(np.real(d[y]), None, axis,
                                           _swapped(norm)))
                          * _hermitian_weights(y, axis), a)


@tangent(np.fft.irfft)
def irfft_fwd(y, a, n=None, axis=-1, norm=None, out: only(None) = None):
    d[y] = np.fft.irfft(d[a], n, axis, norm)


@adjoint(np.fft.irfft2, makes_complex=True)
def irfft2_rev(y, a, s: via_output = None, axes=(-2, -1), norm=None,
               out: only(None) = None):
    d[a] = runtime.fit_to(np.conj(np.fft.rfft2(np.real(d[y]), None, axes,
                                            _swapped(norm)))
                          * _hermitian_weights(y, _last_axis(y, axes)), a)


@tangent(np.fft.irfft2)
def irfft2_fwd(y, a, s=None, axes=(-2, -1), norm=None, out: only(None) = None):
    d[y] = np.fft.irfft2(d[a], s, axes, norm)


@adjoint(np.fft.irfftn, makes_complex=True)
def irfftn_rev(y, a, s: via_output = None, axes=None, norm=None,
               out: only(None) = None):
    d[a] = runtime.fit_to(np.conj(np.fft.rfftn(np.real(d[y]), None, axes,
                                            _swapped(norm)))
                          * _hermitian_weights(y, _last_axis(y, axes)), a)


@tangent(np.fft.irfftn)
def irfftn_fwd(y, a, s=None, axes=None, norm=None, out: only(None) = None):
    d[y] = np.fft.irfftn(d[a], s, axes, norm)


# ---- shifts: permutations, each the other's transpose ----

linear(np.fft.fftshift, np.fft.ifftshift)

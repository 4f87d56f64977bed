"""Gradients of functions of CuPy arrays, on a GPU.

Run where CuPy and a GPU are present, skipped elsewhere. The mechanism
(generated code calls NumPy's functions, which CuPy answers for its arrays)
is tested without a GPU by test_duck_arrays.py, on a test-only array type
as strict as CuPy's; these check the real thing.
"""

import numpy as np
import pytest

import s2sad

cp = pytest.importorskip("cupy")
try:
    GPUS = cp.cuda.runtime.getDeviceCount()
except Exception:  # no driver, or no device
    GPUS = 0
pytestmark = pytest.mark.skipif(not GPUS, reason="no GPU for CuPy")


def least_squares(w, X, y):
    r = X @ w - y
    return np.sum(r * r) / X.shape[0]


def mlp(params, X, y):
    W1, b1, W2 = params
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 - y) ** 2)


def sliced(x):
    return np.sum(np.diff(x) ** 2) + np.max(x[1:] * x[:-1])


@pytest.mark.parametrize("mode", ["rev", "fwd"])
@pytest.mark.parametrize("f, args", [
    (least_squares, lambda rng: (rng.standard_normal(10),
                                 rng.standard_normal((100, 10)),
                                 rng.standard_normal(100))),
    (mlp, lambda rng: ([rng.standard_normal((10, 8)), np.zeros(8),
                        rng.standard_normal(8)],
                       rng.standard_normal((100, 10)),
                       rng.standard_normal(100))),
    (sliced, lambda rng: (rng.standard_normal(50),)),
])
def test_a_gradient_of_cupy_arrays_is_computed_on_the_gpu(f, args, mode,
                                                          rng):
    host = args(rng)
    device = [[cp.asarray(p) for p in a] if isinstance(a, list) else
              cp.asarray(a) for a in host]
    if mode == "rev":
        expected = s2sad.grad(f)(*host)
        got = s2sad.grad(f)(*device)
    else:
        first = host[0]
        tangent = [np.ones_like(p) for p in first] if isinstance(
            first, list) else np.ones_like(first)
        on_device = [cp.asarray(t) for t in tangent] if isinstance(
            tangent, list) else cp.asarray(tangent)
        expected = s2sad.jvp(f, host, (tangent,) + (None,) * (len(host) - 1))
        got = s2sad.jvp(f, device, (on_device,) + (None,) * (len(host) - 1))
    for g, e in zip(got if isinstance(got, (list, tuple)) else [got],
                    expected if isinstance(expected, (list, tuple))
                    else [expected]):
        if np.ndim(e):
            assert isinstance(g, cp.ndarray), type(g)
        np.testing.assert_allclose(cp.asnumpy(g), e, rtol=1e-10)

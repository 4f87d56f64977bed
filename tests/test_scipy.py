"""SciPy's special functions and scipy.stats.norm: second derivatives of
every SciPy rule's rows (first derivatives: tests/test_rules.py), the
argument refused, and s2sad without SciPy."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2sad
from tests.test_math import check_second_order, second_order_cases

special = pytest.importorskip("scipy.special")
stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("rule, expr, args, argnums", [
    case for case in second_order_cases(modules=("scipy",), helpers=())
    # the 2-d rows of the ufuncs repeat the 0-d and 1-d ones
    if "(2, 3)" not in repr(case.values[2]) or case.values[0].key in (
        special.logsumexp, special.softmax, special.log_softmax)])
def test_second_derivatives_match_central_differences(
        rule, expr, args, argnums, tmp_path, rng):
    check_second_order(rule, expr, args, argnums, tmp_path, rng)


def mixture_loss(w, x, t):
    logits = x @ w
    return -np.sum(special.log_softmax(logits, axis=1) * t) + np.sum(
        stats.norm.logpdf(w, 0.0, 2.0)) + special.logsumexp(logits)


def test_a_model_with_scipy_has_a_right_hessian():
    rng = np.random.default_rng(3)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    t = np.eye(2)[[0, 1, 1, 0]]
    value, _ = s2sad.value_and_grad(mixture_loss)(w, x, t)
    assert value == mixture_loss(w, x, t)
    s2sad.check_grads(mixture_loss, (w, x, t), argnums=(0, 1))
    s2sad.check_grads(s2sad.grad(mixture_loss), (w, x, t), argnums=(0,),
                      modes=("fwd",), eps=1e-5, rtol=1e-5, atol=1e-7)


def signed(a):
    return special.logsumexp(a, return_sign=True)[0]


def test_return_sign_is_refused_where_it_is_written():
    with pytest.raises(s2sad.errors.UnsupportedCallError) as info:
        s2sad.grad(signed)(np.ones(3))
    assert str(info.value).startswith(f"{__file__}:")
    assert "return_sign" in str(info.value)


def test_s2sad_works_and_never_imports_scipy_without_it(tmp_path):
    # a finder that refuses SciPy, as if it were not installed
    script = textwrap.dedent("""
        import math, sys
        class NoSciPy:
            def find_spec(self, name, path=None, target=None):
                if name == "scipy" or name.startswith("scipy."):
                    raise ImportError("no SciPy")
        sys.meta_path.insert(0, NoSciPy())
        import s2sad
        from s2sad.rules import registry
        def f(x):
            return math.erf(x) * math.lgamma(x)
        assert abs(s2sad.grad(f)(1.5) - 0.0208885) < 1e-6, s2sad.grad(f)(1.5)
        assert registry.all_rules()
        assert not any(m.startswith("scipy") for m in sys.modules)
        print("ok")
    """)
    (tmp_path / "no_scipy.py").write_text(script)
    out = subprocess.run([sys.executable, "no_scipy.py"], capture_output=True,
                         text=True, cwd=str(tmp_path), env=_env())
    assert out.stdout.strip() == "ok", out.stderr


def _env():
    import os
    import pathlib
    root = str(pathlib.Path(s2sad.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": root}
